// Instructions per segment on the TCP bulk-data paths of one stack instance, for
// callgrind (bench/README.md has the recipe):
//
//   valgrind --tool=callgrind --toggle-collect=joyride_bench_loop
//            build/release/bench/joyride_bench_tcp_path rx 11000   (one command line)
//
// A count-bounded loop (no timing) over one ESTABLISHED connection to a scripted peer
// that negotiated what a Linux peer does (MSS 1460, timestamps, SACK, window scale 7),
// so every data segment carries 1448 bytes and a 12-byte timestamp option:
//   rx N  feeds N prebuilt in-order data segments to Stack::input, reads each with
//         TcpLayer::recv and takes our ACKs (one per two segments) from take_tx;
//   tx N  sends 1448 bytes per iteration with TcpLayer::send, takes the segment from
//         take_tx and, every second iteration, injects a prebuilt peer ACK for all the
//         data so far (the window's right edge moves with it), so nothing ever stalls.
// Every input frame is built before the loop (correct sequence numbers, timestamps and
// checksums) and sits in a pool packet, so the loop measures the stack and not the
// test: only Stack::input/poll, the TCP socket calls and take_tx run inside it.
//
// Time does not move (every call gets the same Instant): no timer fires inside the
// loop, RTT samples are 0 and tsval is constant. That keeps the run deterministic and
// the per-segment count free of timer-wheel ticks, which a real run would add.
//
// An optional third argument, `offload`, marks every input frame as a NIC with receive
// checksum offload would (buf::kRxIpv4ChecksumGood | buf::kRxL4ChecksumGood) and turns
// on transmit checksum offload on the interface (InterfaceConfig::
// tx_l4_checksum_offload: TCP leaves its checksums to the device): the figure for the
// DPDK path on real NICs, where the stack never sums payload bytes. Outside the
// measured loop, drain() completes such checksums as the device would.
//
// The program checks at the end that all N segments were delivered (rx: every byte
// read, in order, and acknowledged) or sent and acknowledged (tx), with no drop or
// retransmission, and exits non-zero otherwise: the bench cannot silently measure a
// stalled connection.
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "tcp_bench_peer.h"

using namespace joyride;
using namespace joyride::bench;

namespace {

// The host stack holds the connection (its own instance).
bool establish(Bench& b) {
  b.learn_arp();
  auto& tcp = b.stack.tcp();
  auto l = tcp.open();
  if (!l || !tcp.bind(*l, core::Endpoint{kLocal, kPort}).ok() || !tcp.listen(*l, 16).ok()) return false;
  if (!b.handshake()) return false;
  auto child = tcp.accept(*l);
  if (!child || tcp.state(*child) != core::TcpState::kEstablished) {
    std::fprintf(stderr, "handshake did not reach ESTABLISHED\n");
    return false;
  }
  b.sock = *child;
  auto info = tcp.info(b.sock);
  if (!info || !info->timestamps || !info->sack || info->snd_mss != kMss) {
    std::fprintf(stderr, "unexpected negotiation (snd_mss %u)\n", info ? info->snd_mss : 0);
    return false;
  }
  return true;
}

struct LoopStats {
  uint64_t bytes = 0;     // rx: read by recv; tx: accepted by send
  uint64_t frames = 0;    // frames taken from take_tx
  bool in_order = true;   // rx: every byte read is the expected one (checked on a sample)
};

}  // namespace

// The measured loop: only this function's instructions are counted
// (--toggle-collect=joyride_bench_loop). `input` holds the prebuilt peer frames:
// rx: one data segment per iteration; tx: one ACK per two iterations.
extern "C" __attribute__((noinline)) void joyride_bench_loop(Bench& b, bool rx, long n,
                                                            std::vector<buf::Packet>& input,
                                                            std::vector<uint8_t>& buffer, LoopStats& st) {
  std::array<core::Frame, 32> out;
  auto& tcp = b.stack.tcp();
  for (long i = 0; i < n; ++i) {
    if (rx) {
      b.stack.input(0, std::move(input[static_cast<size_t>(i)]), kNow);
      auto r = tcp.recv(b.sock, buffer, kNow);
      if (r) {
        // One byte per segment is enough to catch misordering without measuring a scan.
        if (*r == 0 || buffer[0] != stream_byte(st.bytes)) st.in_order = false;
        st.bytes += *r;
      }
    } else {
      auto r = tcp.send(b.sock, std::span(buffer.data(), kMss), kNow);
      if (r) st.bytes += *r;
      if (i % 2 == 1) b.stack.input(0, std::move(input[static_cast<size_t>(i / 2)]), kNow);
    }
    while (size_t k = b.stack.take_tx(out)) {
      st.frames += k;
      for (size_t j = 0; j < k; ++j) out[j].packet.reset();
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (std::string_view(argv[1]) != "rx" && std::string_view(argv[1]) != "tx") ||
      std::atol(argv[2]) <= 0 || (argc == 4 && std::string_view(argv[3]) != "offload")) {
    std::fprintf(stderr, "usage: %s rx|tx COUNT [offload]\n", argv[0]);
    return 2;
  }
  const bool offload = argc == 4;
  const bool rx = std::string_view(argv[1]) == "rx";
  const long n = std::atol(argv[2]);
  const uint64_t total = static_cast<uint64_t>(n) * kMss;

  // Room for every prebuilt frame plus what the stack holds at once.
  Bench b(static_cast<uint32_t>(n) + 4096, offload);
  if (!establish(b)) return 1;
  std::vector<buf::Packet> input = b.loop_input(rx, n, offload);

  std::vector<uint8_t> buffer(rx ? 65536 : kMss);
  if (!rx) {
    for (size_t k = 0; k < kMss; ++k) buffer[k] = stream_byte(k);
  }
  LoopStats st;
  joyride_bench_loop(b, rx, n, input, buffer, st);

  // ---- verification (outside the measured loop) -----------------------------------
  bool ok = true;
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "FAIL: %s\n", what);
    ok = false;
  };
  if (!rx && n % 2 == 1) {
    // The last segment of an odd count: acknowledge it too.
    b.stack.input(0, b.ack_frame(total, n), kNow);
  }
  auto last = b.drain();
  const auto info = b.stack.tcp().info(b.sock);
  if (!info) {
    fail("the connection is gone");
    return 1;
  }
  if (info->state != core::TcpState::kEstablished) fail("the connection left ESTABLISHED");
  if (st.bytes != total) fail(rx ? "not every byte was read" : "send did not take every byte");
  if (rx) {
    if (!st.in_order) fail("bytes read out of order");
    if (info->bytes_received != total) fail("bytes_received != N * 1448");
    // Our ACKs: one per two full segments, and (N even) the last acknowledges everything.
    if (st.frames < static_cast<uint64_t>(n / 2)) fail("fewer ACKs than one per two segments");
    if (n % 2 == 0 && st.frames > 0) {
      // Nothing is left unacknowledged for the delayed-ACK timer.
      if (!last.empty()) fail("an ACK was left for after the loop");
    }
  } else {
    if (st.frames != static_cast<uint64_t>(n)) fail("not one frame per send");
    if (info->bytes_acked != total) fail("bytes_acked != N * 1448");
    if (info->unacked != 0) fail("data left unacknowledged");
    if (info->segs_out < static_cast<uint64_t>(n)) fail("segs_out < N");
  }
  if (info->total_retrans != 0) fail("retransmissions");
  uint64_t drops = 0;
  b.stack.for_each_counter([&](std::string_view, std::string_view name, uint64_t v) {
    if (name.starts_with("drop")) drops += v;
  });
  if (drops != 0) fail("drops counted");
  std::printf("%s %ld segments of %zu bytes: %llu bytes, %llu frames out, cwnd %u, %llu drops: %s\n"
              "callgrind --toggle-collect=joyride_bench_loop\n",
              rx ? "rx" : "tx", n, kMss, static_cast<unsigned long long>(st.bytes),
              static_cast<unsigned long long>(st.frames), info->cwnd, static_cast<unsigned long long>(drops),
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
