// An ordinary segment's frame is built in one step along the connection's path cache
// (TcpLayer::send_frame_cached + Ipv4Layer::send_cached_frame) when the cache is
// current; otherwise emit_header + output_cached build it. Both must put the same
// bytes on the wire. The same exchange runs twice: once as is, once with the routing
// table touched (an unrelated route added and removed, which moves the path version)
// before every call into the stack, so every segment finds its cache stale and goes
// the general way. Every frame, Ethernet to the last payload byte (IPv4 ident and
// checksum, TCP window, timestamps, checksum, SACK blocks), must be equal, with and
// without transmit checksum offload; the exchange moves time (TSval), our receive
// window (data arrives and is read) and sends SACK blocks (out-of-order data), so the
// headers written in one step are seen following what changes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tcp_conn.h"

namespace joyride::core::testing {
namespace {

constexpr uint32_t kSegMss = kMss - 12;

struct Exchange {
  std::vector<Bytes> frames;
  uint64_t tx_segments = 0;
};

Exchange exchange(bool stale_paths, bool offload) {
  ConnOptions opts{.sack = true, .ts = true, .ws = 7, .sndbuf = 1 << 20};
  opts.harness.configure = [offload](StackConfig& sc) {
    for (auto& itf : sc.interfaces) itf.tx_l4_checksum_offload = offload;
  };
  Conn c(opts);
  Exchange run;
  auto touch = [&] {
    if (!stale_paths) return;
    const wire::Ipv4Cidr unrelated(wire::Ipv4Address::from_octets(203, 0, 113, 0), 24);
    c.h.stack->routes().add(Route{unrelated, std::nullopt, 0, 0});
    c.h.stack->routes().remove(unrelated);
  };
  auto take = [&] {
    while (auto f = c.h.pop_tx()) {
      if (f->ip && f->ip->protocol == wire::IpProtocol::kTcp) {
        if (auto t = wire::TcpRepr::parse(f->ip_payload, f->ip->src, f->ip->dst, !offload); t) {
          if (t->options.timestamps) c.echo = t->options.timestamps->first;
        }
        run.frames.push_back(f->bytes);
      }
    }
  };
  take();
  uint32_t acked = 0;
  for (uint32_t round = 0; round < 6; ++round) {
    touch();
    EXPECT_EQ(c.send(3 * kSegMss + 100), 3 * kSegMss + 100);
    take();
    c.h.advance(Duration::millis(3));
    // The peer's data: in order, then one segment beyond a gap (SACK blocks on our
    // next segments), then the gap filled.
    touch();
    ++c.peer_tsval;
    c.data(round * 3000, 1000);
    take();
    touch();
    ++c.peer_tsval;
    c.data(round * 3000 + 2000, 1000);
    take();
    touch();
    EXPECT_EQ(c.send(kSegMss), kSegMss);  // carries the SACK block
    take();
    touch();
    ++c.peer_tsval;
    c.data(round * 3000 + 1000, 1000);
    take();
    touch();
    (void)c.read(1 << 16);  // the window opens again
    take();
    acked += 4 * kSegMss + 100;
    c.h.advance(Duration::millis(2));
    touch();
    ++c.peer_tsval;
    c.ack(acked);
    take();
  }
  run.tx_segments = c.info().segs_out;
  return run;
}

TEST(TcpFramePath, CachedPathFramesEqualTheGeneralPath) {
  for (bool offload : {false, true}) {
    SCOPED_TRACE(offload ? "tx checksum offload" : "software checksums");
    const Exchange fast = exchange(false, offload);
    const Exchange general = exchange(true, offload);
    ASSERT_GT(fast.frames.size(), 30u);
    EXPECT_EQ(fast.tx_segments, general.tx_segments);
    ASSERT_EQ(fast.frames.size(), general.frames.size());
    for (size_t i = 0; i < fast.frames.size(); ++i) EXPECT_EQ(fast.frames[i], general.frames[i]) << "frame " << i;
  }
}

}  // namespace
}  // namespace joyride::core::testing
