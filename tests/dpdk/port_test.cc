// Port over the vdevs of the test EAL (dpdk_env.h): capabilities as the PMDs report
// them, frames byte-for-byte through the net_ring loopback and across a memif pair,
// chains, a full tx ring handing frames back, stats and xstats, and deterministic
// replay through net_pcap.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "dpdk/dpdk_env.h"
#include "joyride/dev/dpdk/port.h"

namespace joyride::dev::dpdk {
namespace {

using testing::Bytes;
using testing::bytes_of;
using testing::DpdkEnv;
using testing::dpdk_env;
using testing::packet_of;
using testing::pool_full;
using testing::receive;
using testing::wait_link_up;
using testing::test_frame;

// Sends every packet, retrying while the PMD makes progress.
size_t send_all(Port& port, std::vector<buf::Packet>& pkts) {
  size_t done = 0;
  for (int stalls = 0; done < pkts.size() && stalls < 1000;) {
    const size_t n = port.tx_burst(0, std::span(pkts).subspan(done));
    stalls = n == 0 ? stalls + 1 : 0;
    done += n;
  }
  return done;
}


class PortTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dpdk_env().ok()) << dpdk_env().error(); }
  Port* open(const char* name, bool drain = true) {
    Port* p = dpdk_env().port(name);
    if (p != nullptr && drain) receive(*p, SIZE_MAX, 2);  // whatever an earlier test left
    return p;
  }
};

TEST_F(PortTest, LoopbackComesUpWithItsCapabilities) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  const Capabilities& c = port->capabilities();
  // net_ring offers no checksum, TSO or multi-segment offloads: none may be claimed.
  rte_eth_dev_info info{};
  ASSERT_EQ(rte_eth_dev_info_get(port->id(), &info), 0);
  EXPECT_EQ(c.rx_ipv4_checksum, (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0);
  EXPECT_EQ(c.tx_tcp_checksum, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0);
  EXPECT_EQ(c.multi_seg_tx, (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0);
  EXPECT_FALSE(c.rx_ipv4_checksum || c.rx_tcp_checksum || c.rx_udp_checksum);
  EXPECT_FALSE(c.tx_ipv4_checksum || c.tx_tcp_checksum || c.tx_udp_checksum || c.tso);
  EXPECT_FALSE(c.rss);  // one rx queue
  EXPECT_FALSE(c.rx_scatter);  // a 1500-byte MTU frame fits one mbuf
  EXPECT_EQ(c.mtu, 1500);
  EXPECT_EQ(c.rx_queues, 1);
  EXPECT_EQ(c.tx_queues, 1);
  EXPECT_GT(c.rx_ring, 0);
  EXPECT_TRUE(port->link().up);
  EXPECT_EQ(port->name(), DpdkEnv::kLoopback);
}

TEST_F(PortTest, OpeningAnUnknownDeviceFailsWithItsReason) {
  ASSERT_NE(open(DpdkEnv::kLoopback), nullptr);  // for its pool
  auto port = Port::open(PortConfig{.device = "net_nonexistent9"}, dpdk_env().pool_of(DpdkEnv::kLoopback));
  ASSERT_FALSE(port.ok());
  EXPECT_STREQ(port.error().op, "rte_eth_dev_get_port_by_name");
  EXPECT_NE(port.error().code, 0);
}

TEST_F(PortTest, RefusedConfigurationsFailAndLeaveThePortAlone) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  MbufPool& pool = dpdk_env().pool_of(DpdkEnv::kLoopback);
  PortConfig too_many_queues{.device = DpdkEnv::kLoopback, .rx_queues = 1000};
  auto a = Port::open(too_many_queues, pool);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, EINVAL);
  PortConfig tiny_mtu{.device = DpdkEnv::kLoopback, .mtu = 10};
  auto b = Port::open(tiny_mtu, pool);
  ASSERT_FALSE(b.ok());
  EXPECT_STREQ(b.error().op, "rte_eth_dev_configure");
  // The failed opens neither stopped nor closed the running port.
  std::vector<buf::Packet> tx;
  tx.push_back(packet_of(pool, test_frame(100, 4)));
  ASSERT_EQ(port->tx_burst(0, tx), 1u);
  auto rx = receive(*port, 1);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(bytes_of(rx[0]), test_frame(100, 4));
}

TEST_F(PortTest, LoopbackReturnsTheFrameByteForByteAndCountsIt) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  MbufPool& pool = dpdk_env().pool_of(DpdkEnv::kLoopback);
  const PortStats before = port->stats();
  const Bytes frame = test_frame(1514, 1);
  std::vector<buf::Packet> tx;
  tx.push_back(packet_of(pool, frame));
  ASSERT_EQ(port->tx_burst(0, tx), 1u);
  EXPECT_TRUE(tx[0].empty());
  auto rx = receive(*port, 1);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(bytes_of(rx[0]), frame);
  const PortStats after = port->stats();
  EXPECT_EQ(after.opackets - before.opackets, 1u);
  EXPECT_EQ(after.ipackets - before.ipackets, 1u);
  EXPECT_EQ(after.oerrors, before.oerrors);
  EXPECT_EQ(after.imissed, before.imissed);
  // (net_ring counts packets, not bytes: bytes are checked on memif.)
  rx.clear();
  EXPECT_TRUE(pool_full(pool));
}

TEST_F(PortTest, LoopbackCarriesChainsItCanSend) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  MbufPool& pool = dpdk_env().pool_of(DpdkEnv::kLoopback);
  // Two segments that fit one mbuf: sent as a chain, or linearised when the PMD
  // takes no chains. Either way the same bytes arrive.
  Bytes frame = test_frame(600, 2);
  buf::Packet p = packet_of(pool, Bytes(frame.begin(), frame.begin() + 200));
  p.chain(packet_of(pool, Bytes(frame.begin() + 200, frame.end()), 0));
  ASSERT_EQ(p.segment_count(), 2u);
  std::vector<buf::Packet> tx;
  tx.push_back(std::move(p));
  ASSERT_EQ(port->tx_burst(0, tx), 1u);
  auto rx = receive(*port, 1);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(bytes_of(rx[0]), frame);
  EXPECT_EQ(rx[0].segment_count(), port->capabilities().multi_seg_tx ? 2u : 1u);
  rx.clear();

  // A chain longer than one mbuf: carried whole with multi-segment tx; otherwise it
  // can never be sent, and is dropped and counted rather than handed back forever.
  const Bytes big = test_frame(2 * pool.segment_capacity(), 3);
  tx.clear();
  tx.push_back(packet_of(pool, big));
  ASSERT_EQ(tx[0].segment_count(), 3u);
  const uint64_t unsendable = port->counters()[PortCounter::kTxDroppedUnsendable];
  ASSERT_EQ(port->tx_burst(0, tx), 1u);
  rx = receive(*port, 1, port->capabilities().multi_seg_tx ? 1000 : 5);
  if (port->capabilities().multi_seg_tx) {
    ASSERT_EQ(rx.size(), 1u);
    EXPECT_EQ(bytes_of(rx[0]), big);
  } else {
    EXPECT_TRUE(rx.empty());
    EXPECT_EQ(port->counters()[PortCounter::kTxDroppedUnsendable], unsendable + 1);
  }
  rx.clear();
  EXPECT_TRUE(pool_full(pool));
}

TEST_F(PortTest, FullTxRingHandsTheRestBackIntact) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  MbufPool& pool = dpdk_env().pool_of(DpdkEnv::kLoopback);
  // More frames than the loopback ring holds: the ring takes a prefix, the rest stay
  // with us, unchanged and in order, and go once the ring is drained.
  constexpr size_t kFrames = 3000;
  std::vector<buf::Packet> tx;
  for (size_t i = 0; i < kFrames; ++i) tx.push_back(packet_of(pool, test_frame(64 + i % 64, static_cast<uint8_t>(i))));
  const size_t first = port->tx_burst(0, tx);
  ASSERT_GT(first, 0u);
  ASSERT_LT(first, kFrames);
  for (size_t i = 0; i < first; ++i) EXPECT_TRUE(tx[i].empty());
  for (size_t i = first; i < kFrames; ++i) {
    ASSERT_FALSE(tx[i].empty()) << i;
    ASSERT_EQ(bytes_of(tx[i]), test_frame(64 + i % 64, static_cast<uint8_t>(i))) << i;
  }
  std::vector<buf::Packet> rx = receive(*port, first);
  ASSERT_EQ(rx.size(), first);
  size_t done = first;
  while (done < kFrames) {
    const size_t n = port->tx_burst(0, std::span(tx).subspan(done));
    ASSERT_GT(n, 0u);
    auto more = receive(*port, n);
    ASSERT_EQ(more.size(), n);
    for (auto& p : more) rx.push_back(std::move(p));
    done += n;
  }
  for (size_t i = 0; i < kFrames; ++i) {
    ASSERT_EQ(bytes_of(rx[i]), test_frame(64 + i % 64, static_cast<uint8_t>(i))) << "frame " << i;
  }
  rx.clear();
  EXPECT_TRUE(pool_full(pool));
}

TEST_F(PortTest, XstatsNameEveryCounter) {
  Port* port = open(DpdkEnv::kLoopback);
  ASSERT_NE(port, nullptr);
  const auto xs = port->xstats();
  ASSERT_FALSE(xs.empty());
  const bool has_good = std::any_of(xs.begin(), xs.end(), [](const XStat& x) { return x.name == "rx_good_packets"; });
  EXPECT_TRUE(has_good);
  for (const XStat& x : xs) EXPECT_FALSE(x.name.empty());
}

TEST_F(PortTest, MemifPairCarriesFramesBothWays) {
  Port* server = open(DpdkEnv::kMemifServer);
  Port* client = open(DpdkEnv::kMemifClient);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(wait_link_up(*server, *client));
  EXPECT_TRUE(server->capabilities().multi_seg_tx);
  EXPECT_NE(server->mac(), client->mac());
  EXPECT_EQ(server->mac(), wire::MacAddress({0x02, 0, 0, 0, 0, 0x01}));
  MbufPool& sp = dpdk_env().pool_of(DpdkEnv::kMemifServer);
  MbufPool& cp = dpdk_env().pool_of(DpdkEnv::kMemifClient);
  const PortStats server_before = server->stats(), client_before = client->stats();
  size_t bytes = 0;
  for (size_t len : {60, 1514, 5000}) {
    bytes += len;
    const Bytes to_client = test_frame(len, 1, 0x02, 0x01);
    const Bytes to_server = test_frame(len, 2, 0x01, 0x02);
    std::vector<buf::Packet> a, b;
    a.push_back(packet_of(sp, to_client));
    b.push_back(packet_of(cp, to_server));
    // A memif server sends into buffers its client posts from its rx path: both sides
    // must poll rx while sending, as a StackDriver does.
    std::vector<buf::Packet> at_client, at_server;
    for (int i = 0; i < 1000 && (at_client.empty() || at_server.empty()); ++i) {
      if (!a[0].empty()) server->tx_burst(0, a);
      if (!b[0].empty()) client->tx_burst(0, b);
      for (auto& p : receive(*client, 1, 1)) at_client.push_back(std::move(p));
      for (auto& p : receive(*server, 1, 1)) at_server.push_back(std::move(p));
    }
    ASSERT_EQ(at_client.size(), 1u) << len;
    ASSERT_EQ(at_server.size(), 1u) << len;
    EXPECT_EQ(bytes_of(at_client[0]), to_client) << len;
    EXPECT_EQ(bytes_of(at_server[0]), to_server) << len;
  }
  const PortStats server_after = server->stats(), client_after = client->stats();
  EXPECT_EQ(server_after.opackets - server_before.opackets, 3u);
  EXPECT_EQ(client_after.ipackets - client_before.ipackets, 3u);
  EXPECT_EQ(server_after.obytes - server_before.obytes, bytes);
  EXPECT_EQ(client_after.ibytes - client_before.ibytes, bytes);
  EXPECT_EQ(server_after.ibytes - server_before.ibytes, bytes);
  // memif copies into its shared rings: every mbuf is home once we drop what we got.
  EXPECT_TRUE(pool_full(sp));
  EXPECT_TRUE(pool_full(cp));
}

TEST_F(PortTest, PcapReplaysTheCaptureAndRecordsWhatIsSent) {
  Port* port = open(DpdkEnv::kPcap, /*drain=*/false);
  ASSERT_NE(port, nullptr);
  MbufPool& pool = dpdk_env().pool_of(DpdkEnv::kPcap);
  const auto& want = dpdk_env().pcap_frames();
  auto rx = receive(*port, want.size() + 1, 20);  // one more than the file holds: none may come
  ASSERT_EQ(rx.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(bytes_of(rx[i]), want[i]) << "frame " << i;
  rx.clear();
  EXPECT_EQ(port->stats().ipackets, want.size());
  // What we send is written to the tx capture. net_pcap takes no chains, so a
  // 4000-byte frame (two mbufs) is unsendable there and counted as such.
  std::vector<buf::Packet> tx;
  const std::vector<Bytes> out = {test_frame(60, 7), test_frame(4000, 8), test_frame(1514, 9)};
  for (const Bytes& b : out) tx.push_back(packet_of(pool, b));
  const uint64_t unsendable = port->counters()[PortCounter::kTxDroppedUnsendable];
  ASSERT_EQ(send_all(*port, tx), out.size());
  std::vector<Bytes> written = out;
  if (!port->capabilities().multi_seg_tx) {
    written.erase(written.begin() + 1);
    EXPECT_EQ(port->counters()[PortCounter::kTxDroppedUnsendable], unsendable + 1);
  }
  EXPECT_EQ(testing::read_pcap(dpdk_env().pcap_out()), written);
  EXPECT_TRUE(pool_full(pool));
}

}  // namespace
}  // namespace joyride::dev::dpdk
