// A stack connected to itself through its own loopback path: the whole TCP
// machinery (handshake, bulk data, flow control, close) with both ends in one
// instance and no link in between.
#include <gtest/gtest.h>

#include "tcp_harness.h"

namespace joyride::core::testing {
namespace {

using base::Duration;

// Runs the stack until `done` or until `limit` of simulated time passes. Returns
// whether `done` held. Time jumps to the next deadline when nothing is due now.
template <typename F>
bool run(TcpHarness& h, Duration limit, F&& step) {
  const base::Instant end = h.now + limit;
  while (h.now < end) {
    h.stack->poll(h.now);
    if (step()) return true;
    const base::Instant next = h.stack->next_deadline();
    if (next <= h.now) continue;
    if (next.is_never() || next > end) return false;
    h.now = next;
  }
  return false;
}

TEST(TcpLoopback, BulkTransferIsExactAndClosesCleanly) {
  TcpHarness h;
  TcpLayer& tcp = h.tcp();
  SocketId l = h.listen(5001);
  auto c = tcp.open();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(tcp.connect(*c, Endpoint{kOurIp, 5001}, h.now).ok());
  SocketId server{};
  const Bytes data = pattern(3'000'000, 7);
  size_t sent = 0;
  Bytes got;
  bool shut = false, eof = false;
  std::vector<uint8_t> buf(65536);
  const bool ok = run(h, Duration::seconds(60), [&] {
    if (!server.valid()) {
      if (auto a = tcp.accept(l)) server = *a;
    }
    if (sent < data.size()) {
      auto n = tcp.send(*c, std::span(data).subspan(sent), h.now);
      if (n) sent += *n;
    } else if (!shut) {
      tcp.shutdown(*c, false, true, h.now);
      shut = true;
    }
    if (server.valid()) {
      for (;;) {
        auto n = tcp.recv(server, buf, h.now);
        if (!n) break;
        if (*n == 0) {
          eof = true;
          break;
        }
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
      }
    }
    return eof;
  });
  ASSERT_TRUE(ok) << "got " << got.size() << " of " << data.size();
  EXPECT_EQ(got, data);
  EXPECT_EQ(tcp.state(server), TcpState::kCloseWait);
  tcp.close(server, h.now);
  EXPECT_TRUE(run(h, Duration::seconds(5), [&] { return tcp.state(*c) == TcpState::kTimeWait; }));
  auto info = tcp.info(*c);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->total_retrans, 0u);
  EXPECT_GE(info->bytes_acked, data.size());
  tcp.close(*c, h.now);
  // TIME_WAIT lasts 60 s, then the connection is gone.
  EXPECT_TRUE(run(h, Duration::seconds(61), [&] { return tcp.connections() == 1; }));
}

}  // namespace
}  // namespace joyride::core::testing
