#include "joyride/dev/dpdk/port.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <string_view>

namespace joyride::dev::dpdk {

namespace {

constexpr unsigned kBurst = 32;

// The largest frame of an IP MTU: Ethernet header, one VLAN tag, FCS.
uint32_t frame_len(uint16_t mtu) { return uint32_t{mtu} + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN; }

}  // namespace

base::Result<std::unique_ptr<Port>, Error> Port::open(const PortConfig& config, MbufPool& pool) {
  uint16_t id = 0;
  if (int rc = rte_eth_dev_get_port_by_name(config.device.c_str(), &id); rc != 0) {
    return base::Err(Error{"rte_eth_dev_get_port_by_name", -rc});
  }
  std::unique_ptr<Port> port(new Port(id, config.device, pool));
  if (auto st = configure(*port, config); !st.ok()) return base::Err(st.error());
  return port;
}

base::Status<Error> Port::configure(Port& port, const PortConfig& config) {
  const uint16_t id = port.id_;
  Capabilities& caps = port.caps_;
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) return base::Err(Error{"rte_eth_dev_info_get", -rc});
  if (config.rx_queues == 0 || config.tx_queues == 0 || config.rx_queues > info.max_rx_queues ||
      config.tx_queues > info.max_tx_queues) {
    return base::Err(Error{"Port::open (queue count beyond the PMD's maximum)", EINVAL});
  }
  // net_af_xdp hands our mbufs to the kernel as umem frames and assumes the mempool's
  // objects are back to back (MbufPool::kObjectSize explains); otherwise part of the
  // pool is outside the umem and transmit stalls. Refuse rather than stall later.
  if (std::string_view(info.driver_name) == "net_af_xdp" && !port.pool_.evenly_spaced()) {
    return base::Err(Error{"Port::open (net_af_xdp needs an MbufPool with data_room 0: evenly spaced objects)", EINVAL});
  }

  rte_eth_conf conf{};
  // Every offload we can use that the PMD offers; the rest stay off.
  const uint64_t rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  const uint64_t tx_want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                           RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  conf.rxmode.offloads = rx_want & info.rx_offload_capa;
  conf.txmode.offloads = tx_want & info.tx_offload_capa;
  // Scatter can switch a PMD to a slower rx path: only when a full frame would not
  // fit in one mbuf's data room after the headroom.
  const uint32_t mbuf_room = rte_pktmbuf_data_room_size(port.pool_.mempool()) - RTE_PKTMBUF_HEADROOM;
  if (frame_len(config.mtu) > mbuf_room && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
  }
  if (config.rx_queues > 1) {
    const uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    if (hf != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = hf;  // the PMD's default key
    }
  }
  // rte_eth_dev_configure checks the MTU against the PMD's min_mtu/max_mtu.
  conf.rxmode.mtu = config.mtu;
  conf.intr_conf.rxq = config.rx_interrupts ? 1 : 0;
  int configured = rte_eth_dev_configure(id, config.rx_queues, config.tx_queues, &conf);
  if (configured != 0 && conf.intr_conf.rxq != 0) {
    // Some PMDs refuse rx interrupts at configure time: polling works without them.
    conf.intr_conf.rxq = 0;
    configured = rte_eth_dev_configure(id, config.rx_queues, config.tx_queues, &conf);
  }
  if (configured != 0) return base::Err(Error{"rte_eth_dev_configure", -configured});

  uint16_t rx_ring = config.rx_ring, tx_ring = config.tx_ring;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_ring, &tx_ring); rc != 0) {
    return base::Err(Error{"rte_eth_dev_adjust_nb_rx_tx_desc", -rc});
  }
  const int socket = rte_eth_dev_socket_id(id);
  const auto queue_socket = static_cast<unsigned>(socket < 0 ? SOCKET_ID_ANY : socket);
  rte_eth_rxconf rxconf = info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  for (uint16_t q = 0; q < config.rx_queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id, q, rx_ring, queue_socket, &rxconf, port.pool_.mempool()); rc != 0) {
      return base::Err(Error{"rte_eth_rx_queue_setup", -rc});
    }
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  for (uint16_t q = 0; q < config.tx_queues; ++q) {
    if (int rc = rte_eth_tx_queue_setup(id, q, tx_ring, queue_socket, &txconf); rc != 0) {
      return base::Err(Error{"rte_eth_tx_queue_setup", -rc});
    }
  }

  if (int rc = rte_eth_dev_start(id); rc != 0) return base::Err(Error{"rte_eth_dev_start", -rc});
  port.started_ = true;
  port.close_on_destroy_ = true;
  // Not every PMD can change promiscuity (-ENOTSUP): what it ends up in is reported.
  if (config.promiscuous) {
    (void)rte_eth_promiscuous_enable(id);
  } else {
    (void)rte_eth_promiscuous_disable(id);
  }

  caps.rx_ipv4_checksum = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.rx_tcp_checksum = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
  caps.rx_udp_checksum = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  caps.rx_scatter = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
  caps.tx_ipv4_checksum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.tx_tcp_checksum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
  caps.tx_udp_checksum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  caps.tso = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
  if (caps.tso && std::string_view(info.driver_name) == "net_tap") {
    caps.tso_segment_max = static_cast<uint16_t>(config.mtu - 14 - 20 - 60);  // the largest TCP header
  }
  caps.multi_seg_tx = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  caps.rss = conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS;
  // Others accept the request and have no interrupt to give: ask each queue.
  caps.rx_interrupts = conf.intr_conf.rxq != 0;
  for (uint16_t q = 0; caps.rx_interrupts && q < config.rx_queues; ++q) {
    caps.rx_interrupts = rte_eth_dev_rx_intr_ctl_q_get_fd(id, q) >= 0;
  }
  if (rte_eth_dev_get_mtu(id, &caps.mtu) != 0) caps.mtu = config.mtu;
  caps.rx_queues = config.rx_queues;
  caps.tx_queues = config.tx_queues;
  caps.rx_ring = rx_ring;
  caps.tx_ring = tx_ring;
  caps.promiscuous = rte_eth_promiscuous_get(id) == 1;
  return {};
}

Port::~Port() {
  stop();
  // A port that never started is left configured, not closed: closing releases it
  // for the rest of the process, and the caller may want to retry another config.
  if (close_on_destroy_) rte_eth_dev_close(id_);
}

void Port::stop() {
  if (!started_) return;
  started_ = false;
  rte_eth_dev_stop(id_);
}

size_t Port::rx_burst(uint16_t queue, std::span<buf::Packet> out) {
  size_t done = 0;
  rte_mbuf* mbufs[kBurst];
  while (done < out.size()) {
    const auto want = static_cast<uint16_t>(std::min<size_t>(kBurst, out.size() - done));
    const uint16_t got = rte_eth_rx_burst(id_, queue, mbufs, want);
    for (uint16_t i = 0; i < got; ++i) {
      buf::Packet p = pool_.from_mbuf(mbufs[i]);
      if (p.empty()) {
        counters_.inc(PortCounter::kRxDroppedConversion);
        continue;
      }
      out[done++] = std::move(p);
    }
    if (got < want) break;  // the queue is empty
  }
  return done;
}

size_t Port::tx_burst(uint16_t queue, std::span<buf::Packet> pkts) {
  size_t consumed = 0;
  rte_mbuf* mbufs[kBurst];
  while (consumed < pkts.size()) {
    uint16_t n = 0;
    bool stop_after = false;
    while (n < kBurst && consumed + n < pkts.size()) {
      buf::Packet& p = pkts[consumed + n];
      rte_mbuf* m = pool_.to_mbuf(std::move(p));
      if (m == nullptr) {  // no mbufs for a copy: p is untouched, and so is everything after it
        stop_after = true;
        break;
      }
      if (m->nb_segs > 1 && !caps_.multi_seg_tx && rte_pktmbuf_linearize(m) != 0) {
        if (n == 0) {  // at the front: it can never go, so it goes nowhere
          rte_pktmbuf_free(m);
          counters_.inc(PortCounter::kTxDroppedUnsendable);
          ++consumed;
          continue;
        }
        p = pool_.from_mbuf(m);  // behind sendable frames: kept in order, dropped next call
        stop_after = true;
        break;
      }
      mbufs[n++] = m;
    }
    if (n == 0) break;
    const uint16_t sent = rte_eth_tx_burst(id_, queue, mbufs, n);
    // What the PMD refused goes back to the caller, in place and without a copy.
    for (uint16_t i = sent; i < n; ++i) pkts[consumed + i] = pool_.from_mbuf(mbufs[i]);
    consumed += sent;
    if (sent < n || stop_after) break;
  }
  return consumed;
}

LinkStatus Port::link() const {
  rte_eth_link l{};
  if (rte_eth_link_get_nowait(id_, &l) != 0) return {};
  LinkStatus s;
  s.up = l.link_status == RTE_ETH_LINK_UP;
  s.speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
  s.full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
  return s;
}

wire::MacAddress Port::mac() const {
  rte_ether_addr a{};
  rte_eth_macaddr_get(id_, &a);
  return wire::MacAddress::from_bytes(a.addr_bytes);
}

PortStats Port::stats() const {
  rte_eth_stats st{};
  if (rte_eth_stats_get(id_, &st) != 0) return {};
  return PortStats{st.ipackets, st.opackets, st.ibytes, st.obytes, st.imissed, st.ierrors, st.oerrors, st.rx_nombuf};
}

std::vector<XStat> Port::xstats() const {
  const int count = rte_eth_xstats_get_names(id_, nullptr, 0);
  if (count <= 0) return {};
  std::vector<rte_eth_xstat_name> names(static_cast<size_t>(count));
  std::vector<rte_eth_xstat> values(static_cast<size_t>(count));
  const int n_names = rte_eth_xstats_get_names(id_, names.data(), static_cast<unsigned>(count));
  const int n_values = rte_eth_xstats_get(id_, values.data(), static_cast<unsigned>(count));
  std::vector<XStat> out;
  if (n_names <= 0 || n_values <= 0) return out;
  out.reserve(static_cast<size_t>(n_values));
  for (int i = 0; i < std::min(n_values, count); ++i) {
    const uint64_t idx = values[static_cast<size_t>(i)].id;
    if (idx < static_cast<uint64_t>(n_names)) out.push_back(XStat{names[idx].name, values[static_cast<size_t>(i)].value});
  }
  return out;
}

}  // namespace joyride::dev::dpdk
