// Two simulated hosts for the application path's service side: host A (198.18.0.1)
// is joyrided's stack with an AppSession on it; host B (198.18.0.2) is a plain peer
// driven through the core socket API. The test plays the application: FakeApp writes
// the region exactly as the preload does (call slots, FIFO indices, kick bits), or
// writes garbage into it, and the session serves it. Everything runs on the
// network's fake clock; nothing sleeps.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "joyride/core/stack.h"
#include "joyride/dev/sim_network.h"
#include "joyride/dev/stack_node.h"
#include "joyride/ipc/region.h"
#include "joyride/service/app_session.h"

namespace joyride::service::testing {

inline const wire::Ipv4Address kAppHost = wire::Ipv4Address::from_octets(198, 18, 0, 1);
inline const wire::Ipv4Address kPeerHost = wire::Ipv4Address::from_octets(198, 18, 0, 2);

inline ipc::WireAddress wire_address(wire::Ipv4Address a, uint16_t port) {
  ipc::WireAddress w;
  w.family = AF_INET;
  w.port = port;
  for (int i = 0; i < 4; ++i) w.bytes[i] = a.octet(i);
  return w;
}

// A byte of test stream `stream` at `offset`: any misplaced byte shows.
inline uint8_t pattern(uint64_t stream, uint64_t offset) {
  uint64_t x = (stream << 40) ^ offset ^ 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
  return static_cast<uint8_t>(x >> 29);
}

class AppHosts {
 public:
  explicit AppHosts(AppLimits limits = {}) : limits_(limits) {
    const base::Instant start = net_.now();
    app_host_ = std::make_unique<dev::sim::StackNode>(config(1), 11, start);
    peer_ = std::make_unique<dev::sim::StackNode>(config(2), 12, start);
    const auto a = net_.add_node(*app_host_);
    const auto b = net_.add_node(*peer_);
    net_.connect({a, 0}, {b, 0}, dev::sim::LinkParams{.latency = base::Duration::millis(1)});
    EXPECT_TRUE(
        ipc::compute_geometry(limits.max_sockets, limits.call_slots, limits.fifo_bytes, limits.buffer_bytes, geometry_));
    region_ = ::mmap(nullptr, geometry_.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(region_, MAP_FAILED);
    ipc::init_header(region_, geometry_, 1);
    // The session owns (unmaps) the region; the fds are not real here (-1).
    session_ = std::make_unique<AppSession>(1, -1, 4242, 0, "test-app", app_stack(), net_.now(), limits, geometry_,
                                            region_, -1);
  }
  ~AppHosts() {
    session_.reset();
    net_.drop_in_flight();
    app_host_->shutdown();
    peer_->shutdown();
  }

  core::Stack& app_stack() { return app_host_->stack(); }
  core::Stack& peer() { return peer_->stack(); }
  AppSession& session() { return *session_; }
  base::Instant now() const { return net_.now(); }
  const ipc::RegionGeometry& geometry() const { return geometry_; }
  uint8_t* region() { return static_cast<uint8_t*>(region_); }
  ipc::RegionHeader& header() { return *static_cast<ipc::RegionHeader*>(region_); }
  ipc::CallSlot& slot(uint32_t i) { return reinterpret_cast<ipc::CallSlot*>(region() + geometry_.calls_offset)[i]; }
  ipc::SocketShared& shared(uint32_t i) {
    return reinterpret_cast<ipc::SocketShared*>(region() + geometry_.sockets_offset)[i];
  }
  std::atomic<uint64_t>& kick_word(uint32_t w) {
    return reinterpret_cast<std::atomic<uint64_t>*>(region() + geometry_.kicks_offset)[w];
  }

  // One service round: the app's calls and kicks and its instance's events, as
  // joyrided's loop does. The app host's own instance has no part in it.
  void service_round() {
    session_->poll(now());
    session_->wake();
    for (size_t n; (n = peer().take_events(events_)) > 0;) {
      for (size_t i = 0; i < n; ++i)
        if (on_peer_event) on_peer_event(events_[i]);
    }
  }
  // Steps the network, with a service round after each step, until pred() holds
  // (true) or `limit` of simulated time passed (false). Unlike SimNetwork::run_until
  // it does not stop when the network is idle: the app may have queued work that only
  // the service round sees (as joyrided's loop keeps going), so idle time advances
  // a millisecond at a time.
  bool run_until(const std::function<bool()>& pred, base::Duration limit = base::Duration::seconds(10)) {
    const base::Instant end = now() + limit;
    for (;;) {
      service_round();
      if (pred()) return true;
      const base::Instant t = net_.next_event_time();
      if (t.is_never() || t > end) {
        if (now() >= end) return false;
        net_.advance(std::min(base::Duration::millis(1), end - now()));
        continue;
      }
      net_.step();
    }
  }
  void run_for(base::Duration d) { (void)run_until([] { return false; }, d); }

  // ---- the application's side, as the preload writes it -------------------------

  struct CallResult {
    int64_t result = 0;
    int64_t out0 = 0;
    ipc::WireAddress addr;
  };
  // Makes one call in slot 0 and serves it.
  CallResult call(ipc::CallOp op, uint32_t socket = 0, uint32_t generation = 0, std::array<int64_t, 4> args = {},
                  const ipc::WireAddress* addr = nullptr) {
    ipc::CallSlot& c = slot(0);
    c.op = static_cast<uint32_t>(op);
    c.socket = socket;
    c.generation = generation;
    for (int i = 0; i < 4; ++i) c.args[i] = args[static_cast<size_t>(i)];
    if (addr != nullptr) c.addr = *addr;
    c.state.store(ipc::kRequested, std::memory_order_release);
    header().calls_pending.fetch_add(1);
    service_round();
    EXPECT_EQ(c.state.load(), static_cast<uint32_t>(ipc::kDone));
    CallResult r{c.result, c.out[0], c.addr};
    c.state.store(ipc::kFree);
    return r;
  }
  struct Handle {
    uint32_t index = 0;
    uint32_t generation = 0;
  };
  Handle open_socket() {
    auto r = call(ipc::CallOp::kSocket, 0, 0, {SOCK_STREAM});
    EXPECT_GE(r.result, 0);
    return Handle{static_cast<uint32_t>(r.result), static_cast<uint32_t>(r.out0)};
  }
  uint32_t flags(Handle h) { return shared(h.index).flags.load(); }

  void kick(uint32_t index) {
    ipc::raise_kick(region_, geometry_, index);
  }
  // Writes what fits of `stream` bytes [sent, total) into the tx FIFO.
  uint64_t app_send(Handle h, uint64_t stream, uint64_t& sent, uint64_t total) {
    ipc::SocketShared& s = shared(h.index);
    uint64_t tail = s.tx.tail.load();
    const uint64_t head = s.tx.head.load(std::memory_order_acquire);
    uint8_t* fifo = region() + geometry_.tx_fifo_offset(h.index);
    uint64_t n = 0;
    while (sent < total && tail - head < geometry_.fifo_bytes) {
      fifo[tail % geometry_.fifo_bytes] = pattern(stream, sent);
      ++tail, ++sent, ++n;
    }
    s.tx.tail.store(tail, std::memory_order_release);
    if (n != 0) kick(h.index);
    return n;
  }
  // Reads everything in the rx FIFO, checking it against `stream` from `received`.
  uint64_t app_recv(Handle h, uint64_t stream, uint64_t& received, std::string& failure) {
    ipc::SocketShared& s = shared(h.index);
    uint64_t head = s.rx.head.load();
    const uint64_t tail = s.rx.tail.load(std::memory_order_acquire);
    const uint8_t* fifo = region() + geometry_.rx_fifo_offset(h.index);
    const uint64_t n = tail - head;
    for (; head < tail; ++head, ++received) {
      if (failure.empty() && fifo[head % geometry_.fifo_bytes] != pattern(stream, received))
        failure = "wrong byte at " + std::to_string(received);
    }
    s.rx.head.store(head, std::memory_order_release);
    if (n != 0) kick(h.index);
    return n;
  }

  // The session's socket index for a stack socket of the app host.
  std::optional<uint32_t> index_of(core::SocketId id) {
    for (uint32_t i = 0; i < geometry_.max_sockets; ++i)
      if (session_->socket_at(i) == id) return i;
    return std::nullopt;
  }

  std::function<void(const core::SocketEvent&)> on_peer_event;

 private:
  static core::StackConfig config(uint8_t last_octet) {
    core::StackConfig c;
    core::InterfaceConfig itf;
    itf.name = "sim0";
    itf.mac = wire::MacAddress{{0x02, 0x00, 0x00, 0x00, 0x00, last_octet}};
    itf.ipv4.push_back(wire::Ipv4Cidr(wire::Ipv4Address::from_octets(198, 18, 0, last_octet), 24));
    itf.mtu = 1500;
    c.interfaces = {itf};
    return c;
  }

  AppLimits limits_;
  dev::sim::SimNetwork net_;  // first: destroyed last
  std::unique_ptr<dev::sim::StackNode> app_host_;
  std::unique_ptr<dev::sim::StackNode> peer_;
  ipc::RegionGeometry geometry_;
  void* region_ = nullptr;
  std::unique_ptr<AppSession> session_;
  std::array<core::SocketEvent, 64> events_;
};

}  // namespace joyride::service::testing
