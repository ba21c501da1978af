// joyrided's built-in services, served by a stack instance itself so a link can be
// tested before any application attaches:
//   echo    (RFC 862)  TCP: every byte received goes back; UDP: each datagram goes
//                      back to its sender.
//   discard (RFC 863)  TCP and UDP: read, count, drop.
//   chargen (RFC 864)  TCP: the RFC's rotating lines, as fast as the peer reads,
//                      received data read and ignored; UDP: each datagram is answered
//                      with one datagram of 0..512 bytes of the same pattern.
//
// The host hands every readiness event of the stack (Stack::take_events) to
// on_event(); the services act on it with the stack's non-blocking socket calls,
// reading and writing until a call would block, as an event loop over epoll does.
//
// Flow control. Echo reads only when everything it read before has been sent: when
// send() would block it keeps the unsent bytes in its connection's buffer and stops
// reading, so the peer's window closes instead of the echo buffering without end;
// the writable event resumes it. Chargen sends until send() would block and resumes
// on writable, from where the pattern stopped.
//
// The end of a connection. The peer's FIN: echo sends what it still owes, then
// shuts down its side and lets go of the socket (the stack finishes the close);
// discard and chargen close. A reset or timed-out connection is closed and counted.
//
// The discard checksum. TCP discard keeps, per connection, the byte count and a
// CRC-32 (zlib's, IEEE 802.3: equal to Python's zlib.crc32) of everything it read, and
// the runner remembers the last discard connection that ended, with its peer and how
// it ended (last_discard(); `joyride stat` prints it as the discard_last line), so an
// interop test can check a transfer end to end. [services] discard_checksum = false
// leaves the CRC out (benchmarks); the count stays.
//
// Operator close. close_connections() closes every TCP connection of the services
// whose peer is a given endpoint, either gracefully (the service stops sending, reads
// and drops what has arrived, and sends its FIN; the stack finishes the close) or by
// a reset (SO_LINGER 0), as joyrided's `close` control request asks.
//
// Memory. Connections live in a table bounded per service (BuiltinServiceLimits);
// connections beyond the bound are accepted and closed at once, and counted. Each
// table slot gets its echo buffer the first time it serves echo and keeps it for
// reuse, and the read scratch and the chargen pattern are allocated at construction,
// so an event allocates nothing once the table has grown.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/random.h"
#include "joyride/base/result.h"
#include "joyride/base/time.h"
#include "joyride/core/socket.h"
#include "joyride/core/stack.h"
#include "joyride/service/chargen_pattern.h"
#include "joyride/service/service_config.h"

namespace joyride::service {

enum class Service : uint8_t { kEcho, kDiscard, kChargen };
enum class Transport : uint8_t { kTcp, kUdp };
inline constexpr size_t kServiceCount = 3;
std::string_view to_string(Service s);
std::string_view to_string(Transport t);

// What the service table may hold. (Not in the [services] section of the file yet:
// joyrided passes the defaults.)
struct BuiltinServiceLimits {
  uint32_t max_connections = 4096;  // per service
  size_t echo_buffer = 16 * 1024;   // per echo connection: read but not yet sent back (>= 1)
};

// The counters of one service, in the order BuiltinCounter repeats them per service.
enum class ServiceCounter : uint8_t {
  kTcpAccepted,      // connections taken into the table
  kTcpActive,        // connections in the table now (a gauge)
  kTcpOverLimit,     // accepted and closed at once: the table was full
  kTcpBytesIn,
  kTcpBytesOut,
  kTcpErrors,        // accept failures, resets, timeouts, send/recv errors
  kUdpDatagramsIn,
  kUdpDatagramsOut,
  kUdpBytesIn,
  kUdpBytesOut,
  kUdpErrors,        // replies the stack would not send (no buffers, no route)
  kCount
};

enum class BuiltinCounter : uint8_t {
  kEchoTcpAccepted, kEchoTcpActive, kEchoTcpOverLimit, kEchoTcpBytesIn, kEchoTcpBytesOut, kEchoTcpErrors,
  kEchoUdpDatagramsIn, kEchoUdpDatagramsOut, kEchoUdpBytesIn, kEchoUdpBytesOut, kEchoUdpErrors,
  kDiscardTcpAccepted, kDiscardTcpActive, kDiscardTcpOverLimit, kDiscardTcpBytesIn, kDiscardTcpBytesOut,
  kDiscardTcpErrors, kDiscardUdpDatagramsIn, kDiscardUdpDatagramsOut, kDiscardUdpBytesIn, kDiscardUdpBytesOut,
  kDiscardUdpErrors,
  kChargenTcpAccepted, kChargenTcpActive, kChargenTcpOverLimit, kChargenTcpBytesIn, kChargenTcpBytesOut,
  kChargenTcpErrors, kChargenUdpDatagramsIn, kChargenUdpDatagramsOut, kChargenUdpBytesIn, kChargenUdpBytesOut,
  kChargenUdpErrors,
  kCount
};

constexpr std::array<std::string_view, 33> counter_names(BuiltinCounter) {
  return {"echo_tcp_accepted",       "echo_tcp_active",         "echo_tcp_over_limit",
          "echo_tcp_bytes_in",       "echo_tcp_bytes_out",      "echo_tcp_errors",
          "echo_udp_datagrams_in",   "echo_udp_datagrams_out",  "echo_udp_bytes_in",
          "echo_udp_bytes_out",      "echo_udp_errors",
          "discard_tcp_accepted",    "discard_tcp_active",      "discard_tcp_over_limit",
          "discard_tcp_bytes_in",    "discard_tcp_bytes_out",   "discard_tcp_errors",
          "discard_udp_datagrams_in", "discard_udp_datagrams_out", "discard_udp_bytes_in",
          "discard_udp_bytes_out",   "discard_udp_errors",
          "chargen_tcp_accepted",    "chargen_tcp_active",      "chargen_tcp_over_limit",
          "chargen_tcp_bytes_in",    "chargen_tcp_bytes_out",   "chargen_tcp_errors",
          "chargen_udp_datagrams_in", "chargen_udp_datagrams_out", "chargen_udp_bytes_in",
          "chargen_udp_bytes_out",   "chargen_udp_errors"};
}

// The counter `c` of service `s`.
constexpr BuiltinCounter builtin_counter(Service s, ServiceCounter c) {
  return static_cast<BuiltinCounter>(static_cast<size_t>(s) * static_cast<size_t>(ServiceCounter::kCount) +
                                     static_cast<size_t>(c));
}
static_assert(builtin_counter(Service::kChargen, ServiceCounter::kUdpErrors) == BuiltinCounter::kChargenUdpErrors);
static_assert(builtin_counter(Service::kDiscard, ServiceCounter::kTcpAccepted) == BuiltinCounter::kDiscardTcpAccepted);

// How a TCP discard connection ended.
enum class DiscardEnd : uint8_t {
  kFin,       // the peer's FIN, everything before it read
  kReset,     // the peer's RST (ECONNRESET)
  kError,     // another error: a timeout, a refused or failed call
  kOperator,  // close_connections(), graceful or reset
  kStopped,   // stop(): the services shut down
};
std::string_view to_string(DiscardEnd e);  // "fin", "reset", "error", "operator", "stopped"

// The last TCP discard connection that ended.
struct DiscardRecord {
  core::Endpoint remote;
  uint64_t bytes = 0;             // everything read from it
  std::optional<uint32_t> crc32;  // of those bytes; empty when discard_checksum is off
  DiscardEnd end = DiscardEnd::kFin;
  bool operator==(const DiscardRecord&) const = default;
};

// The `joyride stat` line, one line without its newline, words key=value so a script
// can split it:
//   discard_last remote=198.18.0.1:40312 bytes=1000000 crc32=0x1a2b3c4d end=fin
//   discard_last remote=198.18.0.1:40312 bytes=1000000 crc32=off end=fin   (checksum off)
//   discard_last none                                   (no discard connection ended yet)
std::string discard_last_line(const std::optional<DiscardRecord>& r);

// "198.18.0.1:40312" and back (IPv4 only, as the stack; port 0..65535).
std::string to_string(const core::Endpoint& e);
std::optional<core::Endpoint> parse_endpoint(std::string_view text);

enum class CloseMode : uint8_t {
  kGraceful,  // stop sending, drop what is readable, send FIN; the stack finishes
  kReset,     // SO_LINGER 0: RST at once
};

// One socket start() could not set up.
struct StartFailure {
  Service service = Service::kEcho;
  Transport transport = Transport::kTcp;
  uint16_t port = 0;
  std::string_view step;    // "open", "bind" or "listen"
  std::string_view reason;  // core::to_string of the error
};

// Every failure of one start(), in service order, TCP before UDP.
struct StartError {
  std::array<StartFailure, kServiceCount * 2> failures{};
  size_t count = 0;
  std::span<const StartFailure> list() const { return {failures.data(), count}; }
  // "echo/tcp port 7: bind: address in use; ..."
  std::string to_string() const;
};

// The built-in services of one stack instance. (The class is not called
// BuiltinServices, the name the brief gave it, because the configuration struct of
// service_config.h already has that name in this namespace.)
class BuiltinServiceRunner {
 public:
  // `stack` and `random` must outlive this object. The chargen UDP reply length is
  // random.uniform(513) per datagram, so a seeded source replays exactly.
  BuiltinServiceRunner(core::Stack& stack, const BuiltinServices& config, base::RandomSource& random,
                       const BuiltinServiceLimits& limits = BuiltinServiceLimits());
  // Leaves any socket still open in the stack: call stop() first.
  ~BuiltinServiceRunner() = default;
  BuiltinServiceRunner(const BuiltinServiceRunner&) = delete;
  BuiltinServiceRunner& operator=(const BuiltinServiceRunner&) = delete;

  // Opens, binds to 0.0.0.0:port and (TCP) listens with a backlog of 1024, for each
  // enabled service on each transport. The sockets that could be set up serve even
  // when others failed; the error lists every one that failed and why.
  base::Status<StartError> start(base::Instant now);
  // Handles one readiness event from Stack::take_events. True when the socket is one
  // of the services' (the event is then consumed); false for anybody else's.
  bool on_event(const core::SocketEvent& event, base::Instant now);
  // Closes every socket; established TCP connections are reset (joyrided's graceful
  // shutdown resets connections). start() may be called again afterwards.
  void stop(base::Instant now);

  // Closes every TCP connection of the services whose peer is `remote` (see the file
  // comment); returns how many. A discard connection among them is recorded with
  // DiscardEnd::kOperator.
  size_t close_connections(const core::Endpoint& remote, CloseMode mode, base::Instant now);

  // The last TCP discard connection that ended; empty until one has.
  const std::optional<DiscardRecord>& last_discard() const { return last_discard_; }

  bool running() const { return running_; }
  // A snapshot, the *_active gauges filled in.
  base::CounterSet<BuiltinCounter> counters() const;

  static constexpr uint32_t kListenBacklog = 1024;
  static constexpr size_t kMaxUdpChargen = 512;

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  struct Connection {
    core::SocketId socket;
    Service service = Service::kEcho;
    bool in_use = false;
    bool eof = false;                 // echo: the peer's FIN was read
    uint32_t pattern_offset = 0;      // chargen: where in the period the next byte is
    uint32_t head = 0, tail = 0;      // echo: unsent bytes are buffer[head, tail)
    uint32_t crc = 0;                 // discard: zlib crc32 of the bytes read so far
    uint64_t bytes_in = 0;            // read from this connection
    core::Endpoint remote;
    std::unique_ptr<uint8_t[]> buffer;  // echo; kept with the slot once allocated
  };

  struct Endpoints {
    core::SocketId tcp_listener;
    core::SocketId udp;
  };

  bool enabled(Service s) const;
  uint16_t port(Service s) const;
  void count(Service s, ServiceCounter c, uint64_t n = 1) { counters_.inc(builtin_counter(s, c), n); }

  void start_tcp(Service s, base::Instant now, StartError& error);
  void start_udp(Service s, StartError& error);
  void accept_all(Service s, base::Instant now);
  void udp_input(Service s, base::Instant now);

  uint32_t take_slot(Service s, core::SocketId socket, const core::Endpoint& remote);
  // Closes the socket and frees the slot; a discard connection is recorded as ending `end`.
  void release(uint32_t slot, DiscardEnd end, base::Instant now);
  void drop(uint32_t slot, DiscardEnd end, base::Instant now);  // an error: count it and close
  static DiscardEnd end_of(core::RecvError e);
  uint32_t slot_of(core::SocketId socket) const;

  void serve(uint32_t slot, base::Instant now);
  void serve_echo(uint32_t slot, base::Instant now);
  void serve_discard(uint32_t slot, base::Instant now);
  void serve_chargen(uint32_t slot, base::Instant now);
  // Reads and throws away everything readable. False when the connection ended
  // (released here).
  bool drain_input(uint32_t slot, base::Instant now);
  // Counts (and for discard checksums) `n` bytes just read into scratch_.
  void account_input(Connection& c, size_t n);

  core::Stack& stack_;
  const BuiltinServices config_;
  base::RandomSource& random_;
  const BuiltinServiceLimits limits_;
  bool running_ = false;
  std::array<Endpoints, kServiceCount> endpoints_{};
  std::array<uint32_t, kServiceCount> active_{};

  std::vector<Connection> table_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> slot_by_index_;  // TCP socket slab index -> table slot, or kNoSlot

  ChargenPattern pattern_;
  std::optional<DiscardRecord> last_discard_;
  // Bytes read to be dropped, and whole UDP datagrams.
  std::vector<uint8_t> scratch_;
  base::CounterSet<BuiltinCounter> counters_;
};

}  // namespace joyride::service
