// A fixture for state-machine tests: an accepted connection without options
// (windows unscaled, every segment a bare 20-byte header), the peer's ISS kBarePeerIss,
// and helpers that speak in raw sequence numbers.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <span>

#include "tcp_harness.h"

namespace joyride::core::testing {

inline constexpr uint32_t kBarePeerIss = 1000;

class BareConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener = h.listen(80);
    auto [c, i] = h.accept_connection(listener, kBarePeerIss, wire::TcpOptions{});
    s = c;
    iss = i;
  }
  uint32_t us(uint32_t off = 1) const { return iss + off; }  // our sequence numbers
  void peer(uint8_t flags, uint32_t seq, uint32_t ack, std::span<const uint8_t> data = {}) {
    h.inject(h.peer_segment(flags, seq, ack), data);
  }
  // The next segment must be exactly flags/seq/ack with `len` payload bytes.
  void expect(uint8_t flags, uint32_t seq, uint32_t ack, size_t len = 0) {
    Seg x = h.expect_segment();
    EXPECT_EQ(TcpFlags::to_string(x.h.flags), TcpFlags::to_string(flags));
    EXPECT_EQ(x.seq().value(), seq);
    EXPECT_EQ(x.ack().value(), ack);
    EXPECT_EQ(x.payload.size(), len);
  }
  std::optional<TcpState> state() { return h.tcp().state(s); }

  TcpHarness h;
  SocketId listener, s;
  uint32_t iss = 0;
};

}  // namespace joyride::core::testing
