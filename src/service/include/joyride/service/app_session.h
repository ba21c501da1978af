// One attached application, as joyrided sees it: its shared-memory region
// (ipc/region.h), its own stack instance on the host (core/stack_instance.h: its TCP
// and UDP sockets, their timers and buffers, within the buffer budget), and the work of
// moving its bytes (TCP) or datagram records (UDP, app_udp.cc) between the region's
// FIFOs and the sockets' buffers.
//
// Trust. The region is written by the application, so every value read from it
// (a call's fields, a FIFO index, a kick bit) is copied out first and checked
// against this object's private state: a call naming a socket the app does not own,
// or an index that moves backwards or past what was published, is refused and
// counted; a bad FIFO index resets that one socket (RST), never anything else. The
// service never takes a lock the app can hold and never waits for the app.
//
// Driven by the service's loop, one thread: poll(now) serves calls and kicks, then
// takes its instance's readiness events for the app's sockets; wake() rings
// the app's doorbells when something was published and someone sleeps.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/buffer_provider.h"
#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/core/socket.h"
#include "joyride/core/stack.h"
#include "joyride/core/stack_instance.h"
#include "joyride/ipc/region.h"
#include "joyride/service/region_buffers.h"

namespace joyride::service {

enum class AppCounter : uint8_t {
  kCalls,
  kCallsRefused,       // a call with a bad op, socket or generation
  kBadIndex,           // a FIFO index out of range: that socket was reset
  kSocketsOpened,
  kSocketsRefused,     // the app's socket limit (EMFILE)
  kBytesIn,            // network -> app (rx FIFO)
  kBytesOut,           // app -> network (tx FIFO)
  kKicks,
  kFutexWakes,
  kDoorbellRings,
  kUdpRxDropped,       // a datagram the rx FIFO had no room for (as a full socket buffer drops)
  kUdpTxDropped,       // a datagram the stack had no packet buffer for (Linux: SndbufErrors)
  kCount,
};
constexpr std::array<std::string_view, 12> counter_names(AppCounter) {
  return {"calls",    "calls_refused", "bad_index", "sockets_opened", "sockets_refused", "bytes_in",
          "bytes_out", "kicks",        "futex_wakes", "doorbell_rings", "udp_rx_dropped", "udp_tx_dropped"};
}

struct AppLimits {
  uint32_t max_sockets = 1024;
  uint32_t fifo_bytes = 256 * 1024;  // each direction, each socket
  uint32_t call_slots = 64;
  // Socket buffer bytes (TCP send and receive rings) the app's instance may hold: the
  // region's buffer area (a multiple of 4096). A socket that cannot get its buffers
  // fails as Linux's does under memory pressure (connect ENOBUFS, a SYN dropped).
  uint64_t buffer_bytes = uint64_t{1} << 30;
  // The largest one ring may grow to (the config's tcp_rmem/tcp_wmem maxima).
  uint64_t max_buffer_bytes = 8u << 20;
};

class AppSession {
 public:
  // `region` is the app's mapped region (sized and sealed) for `limits`; `session_fd`
  // the attach connection (owned: closed by the destructor). The app's stack instance
  // is added to `host` now and removed by the destructor.
  AppSession(uint64_t id, int session_fd, pid_t pid, uid_t uid, std::string command, core::Stack& host,
             base::Instant now, const AppLimits& limits, const ipc::RegionGeometry& geometry, void* region,
             int app_doorbell);
  ~AppSession();
  AppSession(const AppSession&) = delete;
  AppSession& operator=(const AppSession&) = delete;

  // Serves the app's pending calls and kicks, then its instance's events. Returns the
  // work done (0 = idle).
  size_t poll(base::Instant now);
  // Rings the app if this round published anything and a thread of it sleeps.
  void wake();
  // The application is gone: close its sockets as the kernel closes a dead
  // process's fds (queued data still goes out, then FIN; unread data gives RST).
  void close_all(base::Instant now);
  // Resets every socket still open (a dead app's drain ran out of time).
  void abort_all(base::Instant now);
  // Nothing left for the instance to do for a dead app: no socket of its open, and
  // every connection it closed has finished (CLOSED, or TIME-WAIT, which the
  // instance's removal ends early).
  bool drained();

  // Tells the app the service is about to sleep (it then writes the doorbell), or
  // awake again. Returns true when the app had work queued meanwhile (do not sleep).
  bool set_service_sleeping(bool sleeping);

  uint64_t id() const { return id_; }
  int session_fd() const { return session_fd_; }
  pid_t pid() const { return pid_; }
  uid_t uid() const { return uid_; }
  const std::string& command() const { return command_; }
  core::StackInstance& instance() const { return stack_; }
  uint64_t buffer_bytes_in_use() const { return buffers_.outstanding_bytes(); }
  size_t sockets() const { return open_sockets_; }
  uint64_t region_bytes() const { return geometry_.region_bytes; }
  uint64_t fifo_bytes_in_use() const { return uint64_t{open_sockets_} * 2 * geometry_.fifo_bytes; }
  const base::CounterSet<AppCounter>& counters() const { return counters_; }
  // Sockets the app's preload handed to the kernel, by ipc::FallbackReason (the
  // app's own count: shown, never trusted).
  uint64_t fallbacks(uint32_t reason) const {
    return reason < 4 ? static_cast<const ipc::RegionHeader*>(region_)->fallback_count[reason].load(
                            std::memory_order_relaxed)
                      : 0;
  }
  // f(uint32_t index, core::SocketId) for every open socket.
  template <typename F>
  void for_each_socket(F&& f) const {
    for (uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].in_use) f(i, slots_[i].socket);
  }

  core::SocketId socket_at(uint32_t index) const {
    return index < slots_.size() && slots_[index].in_use ? slots_[index].socket : core::SocketId{};
  }

 private:
  // The service's private state of one socket slot: what it published and what it
  // last accepted from the app (never re-read from the region for decisions).
  struct Slot {
    bool in_use = false;
    bool udp = false;            // a UDP socket: its FIFOs carry DatagramHeader records
    core::SocketId socket;
    uint32_t generation = 0;
    uint32_t flags = 0;          // last published SocketFlag bits
    int32_t pending_error = 0;   // an error taken from the stack, not yet taken by the app
    uint64_t rx_tail = 0;        // published: bytes put into the rx FIFO
    uint64_t rx_head = 0;        // accepted from the app: bytes it consumed
    uint64_t tx_head = 0;        // published: bytes taken from the tx FIFO
    uint64_t tx_tail = 0;        // accepted from the app: bytes it wrote
    bool ever_connected = false;
    bool rd_eof = false;
    bool shut_wr_pending = false;  // shutdown(SHUT_WR) once the tx FIFO is empty
    bool close_pending = false;    // close() once the tx FIFO is empty (the slot stays taken)
    // Options as the app last set them (getsockopt answers from here).
    bool reuse_addr = false, keepalive = false, nodelay = false, cork = false, linger_on = false;
    int32_t linger_seconds = 0;
    int32_t keep_idle = 7200, keep_interval = 75, keep_count = 9;  // Linux's defaults
    int32_t user_timeout_ms = 0;
    int32_t rcvbuf_set = 0, sndbuf_set = 0;  // SO_RCVBUF/SO_SNDBUF as set (doubled)
    bool broadcast = false;                  // SO_BROADCAST (UDP)
  };

  void serve_calls(base::Instant now);
  // A call's fields, copied out of the region once (the app may rewrite the slot
  // while it is served).
  struct Request {
    uint32_t op = 0;
    uint32_t socket = 0;
    uint32_t generation = 0;
    int64_t args[4] = {};
    ipc::WireAddress addr;
    char name[32] = {};  // TCP_CONGESTION's algorithm name, NUL-terminated here
  };
  // app_calls.cc: one call, its fields already copied out of the region.
  void serve_call(ipc::CallSlot& shared, base::Instant now);
  int64_t call_socket(const Request& req);
  int64_t call_accept(Slot& listener, ipc::CallSlot& out, base::Instant now);
  int64_t call_close(uint32_t index, Slot& s, base::Instant now);
  int64_t call_shutdown(uint32_t index, Slot& s, int how, base::Instant now);
  int64_t call_set_option(Slot& s, const Request& req, base::Instant now);
  int64_t call_get_option(Slot& s, const Request& req, ipc::CallSlot& out);
  int64_t call_tcp_info(Slot& s, ipc::CallSlot& out);
  void serve_kicks(base::Instant now);
  // The instance's readiness events, each to its socket's slot.
  size_t serve_events(base::Instant now);
  void on_event(uint32_t index, base::Instant now);
  // The slot of each of the instance's sockets, by slab index (TCP and UDP have their
  // own index spaces): set when a slot takes a socket, cleared when it lets it go.
  void route(core::SocketId socket, uint32_t index);
  void unroute(core::SocketId socket);
  std::vector<uint32_t>* route_table(core::SocketKind kind);
  // Moves bytes both ways for one socket and republishes its flags.
  void pump(uint32_t index, base::Instant now);
  void pump_rx(uint32_t index, Slot& s, base::Instant now);
  void pump_tx(uint32_t index, Slot& s, base::Instant now);
  void publish_flags(uint32_t index, Slot& s);
  void bad_index(uint32_t index, base::Instant now);
  // app_udp.cc: the same for UDP sockets, whose FIFOs carry datagram records.
  int64_t udp_call(uint32_t index, Slot& s, const Request& req, ipc::CallSlot& out, base::Instant now);
  int64_t udp_set_option(Slot& s, const Request& req);
  int64_t udp_get_option(Slot& s, const Request& req, ipc::CallSlot& out);
  void udp_close(uint32_t index, Slot& s, base::Instant now);
  void pump_udp(uint32_t index, Slot& s, base::Instant now);
  void pump_udp_rx(uint32_t index, Slot& s);
  void pump_udp_tx(uint32_t index, Slot& s, base::Instant now);
  // One tx record at s.tx_head, copied out and checked; false when the app broke it.
  bool send_udp_record(uint32_t index, Slot& s, base::Instant now);
  void publish_udp_flags(uint32_t index, Slot& s);
  void udp_bad_record(uint32_t index);
  // The deferred shutdown/close of a socket whose tx FIFO has drained.
  void finish_deferred(uint32_t index, Slot& s, base::Instant now);

  // Socket slot management.
  int64_t open_slot(core::SocketId socket, bool udp = false);  // index, or -EMFILE
  void free_slot(uint32_t index);
  Slot* owned(uint32_t index, uint32_t generation);

  // Region access: every address is computed from the private geometry.
  ipc::RegionHeader& header() { return *static_cast<ipc::RegionHeader*>(region_); }
  ipc::CallSlot& call(uint32_t i) {
    return reinterpret_cast<ipc::CallSlot*>(static_cast<uint8_t*>(region_) + geometry_.calls_offset)[i];
  }
  ipc::SocketShared& shared(uint32_t i) {
    return reinterpret_cast<ipc::SocketShared*>(static_cast<uint8_t*>(region_) + geometry_.sockets_offset)[i];
  }
  std::atomic<uint64_t>& kick_word(uint32_t w) {
    return reinterpret_cast<std::atomic<uint64_t>*>(static_cast<uint8_t*>(region_) + geometry_.kicks_offset)[w];
  }
  uint8_t* rx_fifo(uint32_t i) { return static_cast<uint8_t*>(region_) + geometry_.rx_fifo_offset(i); }
  uint8_t* tx_fifo(uint32_t i) { return static_cast<uint8_t*>(region_) + geometry_.tx_fifo_offset(i); }


  uint64_t id_;
  int session_fd_;
  pid_t pid_;
  uid_t uid_;
  std::string command_;
  AppLimits limits_;
  core::Stack& host_;
  RegionBuffers buffers_;             // the app's socket buffers: its region's buffer area
  core::StackInstance& stack_;        // the app's own instance on host_
  ipc::RegionGeometry geometry_;
  void* region_;
  int app_doorbell_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t open_sockets_ = 0;
  bool published_ = false;  // something changed for the app this round
  base::CounterSet<AppCounter> counters_;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<uint32_t> tcp_routes_;  // slot by TCP slab index, kNoSlot when none
  std::vector<uint32_t> udp_routes_;
  std::array<core::SocketEvent, 64> events_;  // serve_events' buffer, kept (64 events to set up a call)
};

}  // namespace joyride::service
