// Two core::Stacks (198.18.0.1 and .2), each on one end of the memif pair, driven
// alternately by StackDriver::poll_once in this one thread: a ping, a UDP datagram and
// a 1 MB TCP transfer with every byte checked. Time is a fake clock that moves 10 us
// per round and jumps to the next stack deadline when a round moved nothing; every
// run is bounded by a round count. Also: a PMD that stops taking frames makes the
// driver hold them, retry, then drop and count them.
#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "dpdk/dpdk_env.h"
#include "joyride/base/random.h"
#include "joyride/core/stack.h"
#include "joyride/dev/dpdk/stack_driver.h"

namespace joyride::dev::dpdk {
namespace {

using base::Duration;
using base::Instant;
using core::Endpoint;
using testing::DpdkEnv;
using testing::dpdk_env;
using testing::pool_full;

const wire::Ipv4Address kA = wire::Ipv4Address::from_octets(198, 18, 0, 1);
const wire::Ipv4Address kB = wire::Ipv4Address::from_octets(198, 18, 0, 2);
constexpr Duration kRound = Duration::micros(10);

core::StackConfig host(const Port& port, wire::Ipv4Address addr) {
  core::StackConfig c;
  core::InterfaceConfig itf;
  itf.name = port.name();
  itf.mac = port.mac();
  itf.ipv4.push_back(wire::Ipv4Cidr(addr, 24));
  itf.mtu = port.capabilities().mtu;
  c.interfaces = {itf};
  return c;
}

bool wait_link_up(Port& a, Port& b) {
  for (int i = 0; i < 20'000'000; ++i) {
    if (a.link().up && b.link().up) return true;
    std::this_thread::yield();
  }
  return false;
}

// Frames an earlier test left in the pair's rings.
void drain(Port& a, Port& b) {
  std::vector<buf::Packet> burst(32);
  for (int i = 0; i < 200; ++i) {
    a.rx_burst(0, burst);
    b.rx_burst(0, burst);
  }
  for (auto& p : burst) p.reset();
}

class TwoStacksOverMemif : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dpdk_env().ok()) << dpdk_env().error();
    port_a_ = dpdk_env().port(DpdkEnv::kMemifServer);
    port_b_ = dpdk_env().port(DpdkEnv::kMemifClient);
    ASSERT_NE(port_a_, nullptr);
    ASSERT_NE(port_b_, nullptr);
    ASSERT_TRUE(wait_link_up(*port_a_, *port_b_));
    drain(*port_a_, *port_b_);
    // The MbufPools are the stacks' packet pools: every frame is built in an mbuf.
    a_.emplace(host(*port_a_, kA), dpdk_env().pool_of(DpdkEnv::kMemifServer), random_a_, now_);
    b_.emplace(host(*port_b_, kB), dpdk_env().pool_of(DpdkEnv::kMemifClient), random_b_, now_);
    driver_a_.emplace(*a_, *port_a_);
    driver_b_.emplace(*b_, *port_b_);
  }

  void TearDown() override {
    if (!a_) return;
    // Let closing handshakes finish, then drop the stacks: every mbuf goes home.
    run_until([] { return false; }, 2000);
    driver_a_.reset();
    driver_b_.reset();
    a_.reset();
    b_.reset();
    drain(*port_a_, *port_b_);
    EXPECT_TRUE(pool_full(dpdk_env().pool_of(DpdkEnv::kMemifServer)));
    EXPECT_TRUE(pool_full(dpdk_env().pool_of(DpdkEnv::kMemifClient)));
  }

  // One round: both drivers, then the clock.
  size_t round() {
    const size_t work = driver_a_->poll_once(now_) + driver_b_->poll_once(now_);
    now_ += kRound;
    if (work == 0) {
      const Instant next = base::earliest(a_->next_deadline(), b_->next_deadline());
      if (!next.is_never() && next > now_) now_ = next;
    }
    return work;
  }

  // Rounds until done() or the bound; true when done.
  template <typename F>
  bool run_until(F&& done, int max_rounds) {
    for (int i = 0; i < max_rounds; ++i) {
      if (done()) return true;
      round();
    }
    return done();
  }

  Port* port_a_ = nullptr;
  Port* port_b_ = nullptr;
  Instant now_ = Instant::from_nanos(1'000'000'000);
  base::SeededRandom random_a_{1};
  base::SeededRandom random_b_{2};
  std::optional<core::Stack> a_, b_;
  std::optional<StackDriver> driver_a_, driver_b_;
};

TEST_F(TwoStacksOverMemif, PingGetsItsReply) {
  auto s = a_->ping().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(a_->ping().bind(*s, 0).ok());
  std::vector<uint8_t> data(56);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 3);
  ASSERT_TRUE(a_->ping().send_echo(*s, kB, 7, data, now_).ok());
  std::vector<uint8_t> got(128);
  std::optional<core::EchoReply> reply;
  ASSERT_TRUE(run_until(
      [&] {
        auto r = a_->ping().recv(*s, got);
        if (r.ok()) reply = *r;
        return reply.has_value();
      },
      10'000));
  EXPECT_EQ(reply->from, kB);
  EXPECT_EQ(reply->seq_no, 7);
  ASSERT_EQ(reply->data_len, data.size());
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + 56), data);
  EXPECT_GE(driver_a_->counters()[StackDriverCounter::kTxFrames], 2u);  // ARP request, echo request
  EXPECT_GE(driver_a_->counters()[StackDriverCounter::kRxFrames], 2u);  // ARP reply, echo reply
  EXPECT_EQ(driver_a_->counters()[StackDriverCounter::kTxDropped], 0u);
  a_->ping().close(*s);
}

TEST_F(TwoStacksOverMemif, UdpDatagramArrivesWhole) {
  auto rx = b_->udp().open();
  auto tx = a_->udp().open();
  ASSERT_TRUE(rx.ok() && tx.ok());
  ASSERT_TRUE(b_->udp().bind(*rx, Endpoint{kB, 7000}).ok());
  ASSERT_TRUE(a_->udp().bind(*tx, Endpoint{kA, 7001}).ok());
  std::vector<uint8_t> data(1400);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ (i >> 8));
  ASSERT_TRUE(a_->udp().send_to(*tx, data, Endpoint{kB, 7000}, now_).ok());
  std::vector<uint8_t> got(2000);
  std::optional<core::UdpRecvInfo> info;
  ASSERT_TRUE(run_until(
      [&] {
        auto r = b_->udp().recv_from(*rx, got);
        if (r.ok()) info = *r;
        return info.has_value();
      },
      10'000));
  EXPECT_EQ(info->from, (Endpoint{kA, 7001}));
  ASSERT_EQ(info->bytes, data.size());
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + static_cast<ptrdiff_t>(data.size())), data);
  a_->udp().close(*tx);
  b_->udp().close(*rx);
}

uint8_t pattern_at(uint64_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

TEST_F(TwoStacksOverMemif, TcpTransfersOneMegabyteVerified) {
  constexpr uint64_t kBytes = 1 << 20;
  auto listener = b_->tcp().open();
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(b_->tcp().bind(*listener, Endpoint{kB, 8000}).ok());
  ASSERT_TRUE(b_->tcp().listen(*listener, 16).ok());
  auto client = a_->tcp().open();
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(a_->tcp().connect(*client, Endpoint{kB, 8000}, now_).ok());

  std::optional<core::SocketId> server;
  uint64_t sent = 0, received = 0, mismatches = 0;
  bool closed = false, eof = false;
  std::vector<uint8_t> chunk(64 * 1024), in(64 * 1024);
  const bool done = run_until(
      [&] {
        if (!server) {
          auto acc = b_->tcp().accept(*listener);
          if (acc.ok()) server = *acc;
        }
        while (sent < kBytes) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), kBytes - sent));
          for (size_t i = 0; i < n; ++i) chunk[i] = pattern_at(sent + i);
          auto w = a_->tcp().send(*client, std::span(chunk).first(n), now_);
          if (!w.ok() || *w == 0) break;
          sent += *w;
        }
        if (sent == kBytes && !closed) {
          a_->tcp().shutdown(*client, false, true, now_);
          closed = true;
        }
        while (server && !eof) {
          auto r = b_->tcp().recv(*server, in, now_);
          if (!r.ok()) break;
          if (*r == 0) {
            eof = true;
            break;
          }
          for (size_t i = 0; i < *r; ++i) mismatches += in[i] != pattern_at(received + i);
          received += *r;
        }
        return eof;
      },
      200'000);
  ASSERT_TRUE(done) << "sent " << sent << ", received " << received;
  EXPECT_EQ(received, kBytes);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(driver_a_->counters()[StackDriverCounter::kTxDropped], 0u);
  EXPECT_EQ(driver_b_->counters()[StackDriverCounter::kTxDropped], 0u);
  // At least one full segment per 1460 bytes went out and came in.
  EXPECT_GE(driver_a_->counters()[StackDriverCounter::kTxFrames], kBytes / 1460);
  EXPECT_GE(driver_b_->counters()[StackDriverCounter::kRxFrames], kBytes / 1460);
  // Frames went out as built: no copies on transmit, none on receive.
  for (const char* name : {DpdkEnv::kMemifServer, DpdkEnv::kMemifClient}) {
    EXPECT_EQ(dpdk_env().pool_of(name).counters()[MbufPoolCounter::kTxCopiedSegments], 0u) << name;
    EXPECT_EQ(dpdk_env().pool_of(name).counters()[MbufPoolCounter::kRxCopiedPackets], 0u) << name;
  }
  b_->tcp().close(*server, now_);
  a_->tcp().close(*client, now_);
  b_->tcp().close(*listener, now_);
}

// The memif server can only send into buffers its client posts from its rx path: with
// the client never polled, the server's ring fills and the PMD takes nothing more.
TEST_F(TwoStacksOverMemif, RefusedFramesAreRetriedThenDroppedAndCounted) {
  StackDriverConfig cfg;
  cfg.tx_retry_rounds = 5;
  StackDriver driver(*a_, *port_a_, cfg);
  auto s = a_->udp().open();
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(a_->udp().set_broadcast(*s, true));
  const std::vector<uint8_t> data(100, 0x5a);
  const Endpoint all{wire::Ipv4Address::from_octets(198, 18, 0, 255), 9};  // no ARP needed
  constexpr size_t kFrames = 3000;
  for (size_t i = 0; i < kFrames; ++i) ASSERT_TRUE(a_->udp().send_to(*s, data, all, now_).ok()) << i;

  size_t sent = 0;
  int rounds = 0;
  for (; rounds < 1000 && driver.tx_pending() == 0; ++rounds) sent += driver.poll_once(now_);
  ASSERT_GT(driver.tx_pending(), 0u) << "the ring never filled";
  ASSERT_GT(sent, 0u);
  ASSERT_LT(sent, kFrames);
  const size_t pending = driver.tx_pending();
  // Held, not dropped, for tx_retry_rounds - 1 more rounds ...
  for (uint32_t i = 1; i < cfg.tx_retry_rounds; ++i) {
    EXPECT_EQ(driver.poll_once(now_), 0u);
    EXPECT_EQ(driver.tx_pending(), pending);
    EXPECT_EQ(driver.counters()[StackDriverCounter::kTxDropped], 0u);
  }
  // ... then dropped and counted.
  EXPECT_EQ(driver.poll_once(now_), 0u);
  EXPECT_EQ(driver.counters()[StackDriverCounter::kTxDropped], pending);
  EXPECT_EQ(driver.counters()[StackDriverCounter::kTxFrames], sent);
  // Once the client reads, the server sends again: the rest of the stack's queue goes.
  drain(*port_a_, *port_b_);
  size_t later = 0;
  for (int i = 0; i < 1000 && a_->has_tx(); ++i) {
    later += driver.poll_once(now_);
    drain(*port_a_, *port_b_);
  }
  EXPECT_FALSE(a_->has_tx());
  EXPECT_EQ(driver.tx_pending(), 0u);
  // Every frame the stack queued was either sent or dropped by the driver, and counted.
  EXPECT_EQ(sent + later + driver.counters()[StackDriverCounter::kTxDropped], kFrames);
  EXPECT_EQ(driver.counters()[StackDriverCounter::kTxFrames], sent + later);
  a_->udp().close(*s);
}

}  // namespace
}  // namespace joyride::dev::dpdk
