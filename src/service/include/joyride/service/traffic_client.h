// joyrided's built-in traffic client: the sending half of Joyride<->Joyride tests and
// of the benchmark, while joyrided has no applications. A job connects K TCP
// connections to a remote (normally a discard service, RFC 863), sends a given number
// of bytes in total, split evenly, of RFC 864's chargen pattern on each
// (chargen_pattern.h), then closes each gracefully, and reports how long that took.
//
// Like the built-in services it runs inside the service loop, on the stack's
// non-blocking socket calls driven by readiness events (on_event); no threads, no
// clock reads: time comes in as `now`.
//
// A job's time runs from its connect() calls to the moment the last connection's
// FIN is acknowledged (FIN_WAIT_2, TIME_WAIT or, after the peer's own FIN, CLOSED):
// the ACK of the FIN covers every byte before it, so the time measures delivery, not
// just queueing. A connection that is done is let go (close(); the stack finishes
// it). Anything the remote sends back is read and dropped, so an echo service as
// remote works too and a close never resets for unread data.
//
// A job fails on the first error of any of its connections (connect refused, reset,
// timeout, no route); its other connections are reset at once. Finished jobs are kept
// for status() until newer ones need their place (TrafficClientLimits::kept_jobs).
//
// Memory: a job's connection table is allocated when it starts (control plane); the
// data path sends from the shared pattern and reads into one scratch buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/result.h"
#include "joyride/base/time.h"
#include "joyride/core/socket.h"
#include "joyride/core/stack.h"
#include "joyride/service/chargen_pattern.h"

namespace joyride::service {

struct TrafficJobSpec {
  core::Endpoint remote;
  uint64_t bytes = 0;        // in total; connection i sends bytes / K, the first bytes % K one more
  uint32_t connections = 1;  // K, 1..TrafficClientLimits::max_connections
};

enum class JobState : uint8_t { kRunning, kDone, kFailed };
std::string_view to_string(JobState s);  // "running", "done", "failed"

struct TrafficJobStatus {
  uint64_t id = 0;
  JobState state = JobState::kRunning;
  uint64_t bytes_sent = 0;  // taken by send() on all connections so far
  base::Duration elapsed;   // from the connects to the last FIN acknowledged; so far while running
  uint32_t crc32 = 0;       // zlib crc32 of the bytes connection 0 sent so far
  std::string error;        // why it failed ("connection refused"); empty otherwise
};

// The control socket's answer, one line without its newline:
//   job 3 state=done bytes=10000000 seconds=0.081234 crc32=0x1a2b3c4d error=none
// Every word after the id is key=value with no spaces in the value: the error's
// spaces become '-' ("error=connection-refused").
std::string job_status_line(const TrafficJobStatus& s);

struct TrafficClientLimits {
  uint32_t max_connections = 1024;  // per job
  size_t kept_jobs = 64;            // jobs in the table, running or finished (>= 1)
};

class TrafficClient {
 public:
  // `stack` must outlive this object.
  explicit TrafficClient(core::Stack& stack, const TrafficClientLimits& limits = TrafficClientLimits());
  // Leaves sockets of running jobs open in the stack: call stop() first.
  ~TrafficClient() = default;
  TrafficClient(const TrafficClient&) = delete;
  TrafficClient& operator=(const TrafficClient&) = delete;

  // Starts a job and returns its id (1, 2, ...). A job whose connect() fails at once
  // (no route) still gets an id and is failed. Errors: a bad spec (0 or too many
  // connections), or a table full of running jobs.
  base::Result<uint64_t, std::string> start(const TrafficJobSpec& spec, base::Instant now);
  // Handles one readiness event from Stack::take_events. True when the socket is one
  // of the jobs' (the event is then consumed); false for anybody else's.
  bool on_event(const core::SocketEvent& event, base::Instant now);
  // A job's state; empty for an id never given out or no longer kept.
  std::optional<TrafficJobStatus> status(uint64_t id, base::Instant now) const;
  // Fails every running job ("stopped"), resetting its connections.
  void stop(base::Instant now);

  size_t running_jobs() const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  enum class Phase : uint8_t {
    kSending,  // connecting or sending
    kFinSent,  // shutdown(SHUT_WR) done, waiting for the FIN's ACK
    kDone,     // the FIN is acknowledged; the socket is let go
  };

  struct Conn {
    core::SocketId socket;
    uint64_t to_send = 0;
    uint64_t sent = 0;
    uint32_t crc = 0;  // connection 0 only
    Phase phase = Phase::kSending;
  };

  struct Job {
    uint64_t id = 0;  // 0: an empty table slot
    JobState state = JobState::kRunning;
    base::Instant started;
    base::Instant ended;
    uint32_t open = 0;  // connections not done yet
    std::string error;
    std::vector<Conn> conns;
  };

  struct Owner {
    uint32_t job = kNone;  // slot in jobs_
    uint32_t conn = 0;
  };

  uint32_t take_job_slot();
  void progress(uint32_t job, uint32_t conn, base::Instant now);
  // Sends until the connection's share is queued or send() would block; false on an error.
  bool send_some(Job& j, Conn& c, uint32_t conn, base::Instant now);
  // Reads and drops what the remote sent; false on an error.
  bool drain(Job& j, Conn& c, base::Instant now);
  void finish_conn(Job& j, Conn& c, base::Instant now);
  void fail(Job& j, std::string_view why, base::Instant now);
  void forget(core::SocketId s);

  core::Stack& stack_;
  const TrafficClientLimits limits_;
  uint64_t next_id_ = 1;
  std::vector<Job> jobs_;
  std::vector<Owner> owner_by_index_;  // TCP socket slab index -> owner
  ChargenPattern pattern_;
  std::vector<uint8_t> scratch_;
};

}  // namespace joyride::service
