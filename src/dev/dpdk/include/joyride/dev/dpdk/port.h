// One DPDK ethdev port, set up the same way whatever its PMD (a NIC, an SR-IOV VF, or
// a vdev: af_xdp, af_packet, memif, tap, ring, pcap): no PMD-specific code paths. What
// differs between PMDs is read from rte_eth_dev_info and reported as Capabilities.
//
// Set-up (Port::open): find the port by its EAL name, enable every offload the PMD
// offers among IPv4/TCP/UDP checksums (rx and tx), TSO, multi-segment tx and (with more
// than one rx queue) RSS over IP/TCP/UDP; scatter rx only when a frame of the MTU does
// not fit one mbuf; set the MTU; set up the queues on an MbufPool; start; promiscuous
// off unless asked. Offloads enabled on the port cost nothing until a packet asks for
// them in its mbuf flags: today core/ computes every checksum itself, so frames go out
// without offload requests (see docs/architecture.md, dev/dpdk).
//
// Data path: rx_burst and tx_burst move buf::Packets, converting through the MbufPool
// without copying payload (mbuf_pool.h). Not thread-safe: one thread per queue, as DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/result.h"
#include "joyride/buf/packet.h"
#include "joyride/dev/dpdk/error.h"
#include "joyride/dev/dpdk/mbuf_pool.h"
#include "joyride/wire/address.h"

namespace joyride::dev::dpdk {

struct PortConfig {
  std::string device;  // vdev name or PCI address, as given to the EAL ("net_memif0", "0000:01:00.0")
  uint16_t rx_queues = 1, tx_queues = 1, rx_ring = 1024, tx_ring = 1024;
  uint16_t mtu = 1500;       // IP MTU
  bool promiscuous = false;  // receive frames for other MAC addresses too
  // Ask for rx queue interrupts (an idle poller sleeps until a frame arrives:
  // IdleWaiter). A PMD without them is set up without; capabilities() says which.
  bool rx_interrupts = true;
};

// Which offloads are on (offered by the PMD and enabled), and the port's shape.
struct Capabilities {
  bool rx_ipv4_checksum = false;
  bool rx_tcp_checksum = false;
  bool rx_udp_checksum = false;
  bool tx_ipv4_checksum = false;
  bool tx_tcp_checksum = false;
  bool tx_udp_checksum = false;
  bool tso = false;
  // With tso: the largest tso_segsz the PMD takes (0: any up to the MTU's). net_tap
  // (22.11) checks tso_segsz plus every header, Ethernet included, against the IP MTU.
  uint16_t tso_segment_max = 0;
  bool multi_seg_tx = false;  // chains go out as they are; otherwise they are linearised
  bool rx_scatter = false;    // a received frame may arrive as a chain
  bool rss = false;
  bool rx_interrupts = false;  // every rx queue can raise an interrupt (IdleWaiter)
  uint16_t mtu = 0;  // as the PMD reports it after set-up
  uint16_t rx_queues = 0, tx_queues = 0;
  uint16_t rx_ring = 0, tx_ring = 0;  // descriptors per queue, after the PMD's adjustment
  bool promiscuous = false;
};

struct LinkStatus {
  bool up = false;
  uint32_t speed_mbps = 0;  // 0 when unknown
  bool full_duplex = false;
};

// rte_eth_stats, the fields Joyride reports.
struct PortStats {
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
  uint64_t imissed = 0;     // dropped by the hardware: rx ring full
  uint64_t ierrors = 0, oerrors = 0;
  uint64_t rx_nombuf = 0;   // rx mbuf allocation failures
};

struct XStat {
  std::string name;
  uint64_t value = 0;
};

// Joyride's own drops at the port (the PMD's are in PortStats).
enum class PortCounter : uint8_t {
  kRxDroppedConversion,  // a received chain could not become a Packet (pool empty)
  kTxDroppedUnsendable,  // a chain the PMD cannot send (no multi-seg) and too long to linearise
  kCount
};
constexpr std::array<std::string_view, 2> counter_names(PortCounter) {
  return {"rx_dropped_conversion", "tx_dropped_unsendable"};
}

class Port {
 public:
  // Sets up and starts the port; `pool` feeds its rx queues and converts its packets,
  // and must outlive the Port. On failure the device is left as the failed step left
  // it (not closed), so another PortConfig can be tried.
  static base::Result<std::unique_ptr<Port>, Error> open(const PortConfig& config, MbufPool& pool);
  // stop() and rte_eth_dev_close: the port cannot be opened again in this process.
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint16_t id() const { return id_; }
  const std::string& name() const { return name_; }
  const Capabilities& capabilities() const { return caps_; }

  // Fills `out` from the front with received frames; returns how many.
  size_t rx_burst(uint16_t queue, std::span<buf::Packet> out);
  // Sends packets from the front of `pkts`; returns how many were consumed: sent, or
  // dropped as unsendable (counted). pkts[0..n) are then empty; pkts[n..] are still the
  // caller's (the PMD's ring was full, or the pool had no mbufs for a copy), with the
  // same bytes, to retry or drop.
  size_t tx_burst(uint16_t queue, std::span<buf::Packet> pkts);

  LinkStatus link() const;  // does not wait
  wire::MacAddress mac() const;
  PortStats stats() const;
  std::vector<XStat> xstats() const;  // control plane: allocates
  const base::CounterSet<PortCounter>& counters() const { return counters_; }

  // Stops the port (idempotent). Bursts must not be called afterwards.
  void stop();

 private:
  Port(uint16_t id, std::string name, MbufPool& pool) : id_(id), name_(std::move(name)), pool_(pool) {}
  static base::Status<Error> configure(Port& port, const PortConfig& config);

  uint16_t id_;
  std::string name_;
  MbufPool& pool_;
  Capabilities caps_;
  bool started_ = false;
  bool close_on_destroy_ = false;  // set once the port has started
  base::CounterSet<PortCounter> counters_;
};

}  // namespace joyride::dev::dpdk
