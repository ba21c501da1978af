// Instructions per segment on the service side of an application's shared-memory
// FIFOs (ipc/region.h), for callgrind, as tcp_path_bench.cc measures the core alone:
//
//   valgrind --tool=callgrind --toggle-collect=joyride_bench_loop
//            build/release/bench/joyride_bench_app_ring rx 11000   (one command line)
//
// The connection belongs to an AppSession (its own stack instance on the host), set
// up through the region's call slots as the preload would (socket, bind, listen,
// accept), with the scripted Linux-like peer of tcp_bench_peer.h. In the loop, the
// "application" is a few lines writing the region as the preload's one-buffer fast
// path does:
//   tx N  copies 1448 bytes into the socket's tx FIFO, publishes tx.tail and sets its
//         kick bit; one service round (AppSession::poll + wake, as joyrided's loop
//         runs them) moves them into TCP, which sends the segment; every second
//         iteration the peer's ACK for everything comes in;
//   rx N  one peer data segment comes in; the service round takes the instance's
//         readable event and moves the bytes into the rx FIFO; the application takes
//         them (publishes rx.head, sets the kick bit), which the next round sees.
// So the count is the core's per-segment path (tcp_path_bench) plus the service's
// ring work plus a dozen instructions of the application's index updates; payload
// copies (memcpy/memmove) are taken out by bench/segment_cost.sh as usual. The
// program checks that every byte went through in order and was acknowledged, with
// no drop or retransmission, and exits non-zero otherwise.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "joyride/ipc/region.h"
#include "joyride/service/app_session.h"
#include "tcp_bench_peer.h"

using namespace joyride;
using namespace joyride::bench;

namespace {

struct App {
  Bench& b;
  ipc::RegionGeometry g;
  void* region = nullptr;
  std::unique_ptr<service::AppSession> session;
  uint32_t index = 0;  // the accepted connection's socket slot

  explicit App(Bench& bench) : b(bench) {
    service::AppLimits limits;
    limits.max_sockets = 4;
    limits.call_slots = 4;
    limits.buffer_bytes = 64u << 20;
    if (!ipc::compute_geometry(limits.max_sockets, limits.call_slots, limits.fifo_bytes, limits.buffer_bytes, g)) {
      std::fprintf(stderr, "bad geometry\n");
      std::exit(3);
    }
    region = ::mmap(nullptr, g.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
      std::perror("mmap");
      std::exit(3);
    }
    ipc::init_header(region, g, 1);
    // The session owns (unmaps) the region; no real fds (no one sleeps here).
    session = std::make_unique<service::AppSession>(1, -1, ::getpid(), 0, "bench", b.stack, kNow, limits, g, region,
                                                    -1);
  }
  ~App() { session.reset(); }

  uint8_t* base() { return static_cast<uint8_t*>(region); }
  ipc::RegionHeader& header() { return *static_cast<ipc::RegionHeader*>(region); }
  ipc::SocketShared& shared(uint32_t i) {
    return reinterpret_cast<ipc::SocketShared*>(base() + g.sockets_offset)[i];
  }
  void round() {
    session->poll(kNow);
    session->wake();
  }
  void kick(uint32_t i) { ipc::raise_kick(region, g, i); }
  // One control call through slot 0, as control_call.cc makes it; returns result, out[0].
  std::pair<int64_t, int64_t> call(ipc::CallOp op, uint32_t socket, uint32_t generation, int64_t arg0 = 0,
                                   const ipc::WireAddress* addr = nullptr) {
    auto& c = reinterpret_cast<ipc::CallSlot*>(base() + g.calls_offset)[0];
    c.op = static_cast<uint32_t>(op);
    c.socket = socket;
    c.generation = generation;
    c.args[0] = arg0;
    if (addr != nullptr) c.addr = *addr;
    c.state.store(ipc::kRequested, std::memory_order_release);
    header().calls_pending.fetch_add(1, std::memory_order_release);
    round();
    c.state.store(ipc::kFree, std::memory_order_release);
    return {c.result, c.out[0]};
  }

  bool establish() {
    b.learn_arp();
    const auto [l, lgen] = call(ipc::CallOp::kSocket, 0, 0, SOCK_STREAM);
    ipc::WireAddress at;
    at.family = AF_INET;
    at.port = kPort;
    for (int i = 0; i < 4; ++i) at.bytes[i] = kLocal.octet(i);
    if (l < 0 || call(ipc::CallOp::kBind, uint32_t(l), uint32_t(lgen), 0, &at).first != 0 ||
        call(ipc::CallOp::kListen, uint32_t(l), uint32_t(lgen), 16).first != 0) {
      std::fprintf(stderr, "socket/bind/listen through the session failed\n");
      return false;
    }
    if (!b.handshake([&] { round(); })) return false;
    const auto [c, cgen] = call(ipc::CallOp::kAccept, uint32_t(l), uint32_t(lgen));
    if (c < 0) {
      std::fprintf(stderr, "accept through the session: %lld\n", static_cast<long long>(c));
      return false;
    }
    index = uint32_t(c);
    b.sock = session->socket_at(index);
    round();
    if ((shared(index).flags.load() & ipc::kConnected) == 0) {
      std::fprintf(stderr, "the accepted socket is not connected\n");
      return false;
    }
    return true;
  }
};

struct LoopStats {
  uint64_t bytes = 0;   // rx: taken from the rx FIFO; tx: written into the tx FIFO
  uint64_t frames = 0;  // frames taken from take_tx
  bool in_order = true;
};

}  // namespace

// The measured loop (--toggle-collect=joyride_bench_loop); `input` as tcp_path_bench's.
extern "C" __attribute__((noinline)) void joyride_bench_loop(App& app, bool rx, long n,
                                                            std::vector<buf::Packet>& input,
                                                            const std::vector<uint8_t>& payload, LoopStats& st) {
  std::array<core::Frame, 32> out;
  ipc::SocketShared& sh = app.shared(app.index);
  const uint64_t fifo = app.g.fifo_bytes;
  uint8_t* rx_fifo = app.base() + app.g.rx_fifo_offset(app.index);
  uint8_t* tx_fifo = app.base() + app.g.tx_fifo_offset(app.index);
  for (long i = 0; i < n; ++i) {
    if (rx) {
      app.b.stack.input(0, std::move(input[static_cast<size_t>(i)]), kNow);
      app.round();
      const uint64_t head = sh.rx.head.load(std::memory_order_relaxed);
      const uint64_t tail = sh.rx.tail.load(std::memory_order_acquire);
      if (tail != head) {
        if (rx_fifo[head % fifo] != stream_byte(st.bytes)) st.in_order = false;
        st.bytes += tail - head;
        sh.rx.head.store(tail, std::memory_order_release);
        app.kick(app.index);
      }
    } else {
      const uint64_t tail = sh.tx.tail.load(std::memory_order_relaxed);
      const uint64_t at = tail % fifo;
      const uint64_t first = std::min<uint64_t>(kMss, fifo - at);
      std::memcpy(tx_fifo + at, payload.data(), first);
      std::memcpy(tx_fifo, payload.data() + first, kMss - first);
      sh.tx.tail.store(tail + kMss, std::memory_order_release);
      app.kick(app.index);
      st.bytes += kMss;
      app.round();
      if (i % 2 == 1) app.b.stack.input(0, std::move(input[static_cast<size_t>(i / 2)]), kNow);
    }
    while (size_t k = app.b.stack.take_tx(out)) {
      st.frames += k;
      for (size_t j = 0; j < k; ++j) out[j].packet.reset();
    }
  }
  app.round();  // the last kick or ACK
}

int main(int argc, char** argv) {
  if (argc != 3 || (std::string_view(argv[1]) != "rx" && std::string_view(argv[1]) != "tx") ||
      std::atol(argv[2]) <= 0) {
    std::fprintf(stderr, "usage: %s rx|tx COUNT\n", argv[0]);
    return 2;
  }
  const bool rx = std::string_view(argv[1]) == "rx";
  const long n = std::atol(argv[2]);
  const uint64_t total = static_cast<uint64_t>(n) * kMss;
  Bench b(static_cast<uint32_t>(n) + 4096, false);
  App app(b);
  if (!app.establish()) return 1;
  std::vector<buf::Packet> input = b.loop_input(rx, n, false);
  // tx: the same bytes every segment; rx: the peer's stream (loop_input).
  std::vector<uint8_t> payload(kMss);
  for (size_t k = 0; k < kMss; ++k) payload[k] = stream_byte(k);
  LoopStats st;
  joyride_bench_loop(app, rx, n, input, payload, st);

  // ---- verification (outside the measured loop) -----------------------------------
  bool ok = true;
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ok = false;
  };
  if (!rx && n % 2 == 1) b.stack.input(0, b.ack_frame(total, n), kNow);
  app.round();
  b.drain();
  core::TcpLayer& tcp = app.session->instance().tcp();
  const auto info = tcp.info(b.sock);
  if (!info) {
    fail("the connection is gone");
    return 1;
  }
  if (info->state != core::TcpState::kEstablished) fail("the connection left ESTABLISHED");
  if (st.bytes != total) fail(rx ? "not every byte reached the rx FIFO" : "not every byte went into the tx FIFO");
  if (rx) {
    if (!st.in_order) fail("bytes out of order in the rx FIFO");
    if (info->bytes_received != total) fail("bytes_received != N * 1448");
  } else {
    if (info->bytes_acked != total) fail("bytes_acked != N * 1448");
    if (info->unacked != 0) fail("data left unacknowledged");
  }
  if (info->total_retrans != 0) fail("retransmissions");
  uint64_t drops = tcp.counters()[core::TcpCounter::kDropMalformed] + tcp.counters()[core::TcpCounter::kDropNoSocket];
  b.stack.for_each_counter([&](std::string_view, std::string_view name, uint64_t v) {
    if (name.starts_with("drop")) drops += v;
  });
  if (drops != 0) fail("drops counted");
  if (app.session->counters()[service::AppCounter::kBadIndex] != 0) fail("bad FIFO index");
  std::printf("app %s %ld segments of %zu bytes through the FIFOs: %llu bytes, %llu frames out, %llu drops: %s\n"
              "callgrind --toggle-collect=joyride_bench_loop\n",
              rx ? "rx" : "tx", n, kMss, static_cast<unsigned long long>(st.bytes),
              static_cast<unsigned long long>(st.frames), static_cast<unsigned long long>(drops), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
