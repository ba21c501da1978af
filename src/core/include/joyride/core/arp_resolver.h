// ARP (RFC 826) for one stack instance: answers requests for our addresses, keeps a
// neighbour cache, and resolves next hops for outgoing IPv4 packets.
//
// Cache entry life (close to Linux's neighbour states, simplified):
//   kIncomplete --reply--> kReachable --reachable_time--> kStale --(used)--> refresh
//   kIncomplete --max_retries requests unanswered--> removed, queued packets dropped
//   kStale, unused for gc_time --> removed
// A stale entry is still used for sending (no added latency) while a unicast
// refresh request goes out; if that is not answered the entry falls back to
// kIncomplete probing.
//
// Bounded by construction: at most max_entries entries (new resolutions beyond that
// evict the oldest stale entry or are refused and counted), at most
// max_pending_per_entry packets waiting per incomplete entry (older ones dropped
// and counted, as Linux's unres_qlen). Unsolicited replies and gratuitous ARP only
// update existing entries; requests addressed to us create an entry for the sender
// (RFC 826 "merge"), so a flood of requests not for us creates nothing.
//
// What an incoming ARP packet does (receiving interface only; Linux's choices where
// RFC 826 leaves room):
//   - a reply to one of our addresses from a known sender confirms it: kReachable,
//     queued packets go out;
//   - any other packet from a known sender (request, gratuitous ARP, a reply to
//     someone else) is weaker evidence: a new MAC, or a kIncomplete entry, becomes
//     kStale with that MAC (queued packets go out and a refresh follows);
//   - a request for one of our addresses is answered, and creates a kStale entry for
//     an unknown sender;
//   - an ARP probe (sender 0.0.0.0, RFC 5227) for one of our addresses is answered
//     and teaches nothing;
//   - dropped and counted: truncated, not Ethernet/IPv4, sender MAC multicast or
//     broadcast, sender IP multicast/broadcast or one of ours (address conflict).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/buf/packet.h"
#include "joyride/core/ethernet_link.h"
#include "joyride/core/interface.h"
#include "joyride/wire/address.h"
#include "joyride/wire/arp.h"

namespace joyride::core {

struct ArpConfig {
  size_t max_entries = 1024;
  // Linux's unres_qlen default: enough for one fragmented 64 KB datagram (45 frames)
  // to survive resolution; the packet pool bounds the total.
  size_t max_pending_per_entry = 101;
  // A reply makes an entry kReachable for this long, then it turns kStale.
  base::Duration reachable_time = base::Duration::seconds(30);
  // An idle kStale entry is removed this long after it turned stale.
  base::Duration gc_time = base::Duration::seconds(60);
  // Between two requests for an unresolved address, and how long a refresh of a
  // kStale entry waits for its reply.
  base::Duration retry_interval = base::Duration::seconds(1);
  // Broadcast requests per resolution, the first one included (Linux mcast_solicit);
  // 0 counts as 1. With the defaults an address is given up after 3 s.
  uint32_t max_retries = 3;
};

enum class ArpCounter : uint8_t {
  kRxRequests,
  kRxReplies,
  kTxRequests,
  kTxReplies,
  kDropMalformed,
  kDropUnsupported,       // not Ethernet/IPv4 ARP
  kDropBadSender,         // sender MAC multicast/broadcast/ours, sender IP not unicast or
                          // one of ours; also ARP probes not for us
  kDropPendingOverflow,   // queued packet dropped: per-entry queue full
  kDropResolutionFailed,  // queued packet dropped: no reply after max_retries
  kDropCacheFull,         // could not create an entry
  kDropBadNextHop,        // send_ipv4 to 0.0.0.0, one of our addresses, or an unknown ifindex
  kCount
};
constexpr std::array<std::string_view, 11> counter_names(ArpCounter) {
  return {"rx_requests", "rx_replies", "tx_requests", "tx_replies", "drop_malformed",
          "drop_unsupported", "drop_bad_sender", "drop_pending_overflow",
          "drop_resolution_failed", "drop_cache_full", "drop_bad_next_hop"};
}

enum class ArpState : uint8_t { kIncomplete, kReachable, kStale };

struct ArpEntryView {
  wire::Ipv4Address ip;
  wire::MacAddress mac;
  uint32_t ifindex;
  ArpState state;
  size_t pending;
};

class ArpResolver {
 public:
  ArpResolver(const ArpConfig& config, const InterfaceTable& interfaces, base::TimerWheel& timers,
              buf::PacketPool& pool, EthernetLink& link);
  ~ArpResolver();
  ArpResolver(const ArpResolver&) = delete;  // entries point back at their resolver
  ArpResolver& operator=(const ArpResolver&) = delete;

  // An ARP packet (the bytes after the Ethernet header) arrived on ifindex.
  void input(uint32_t ifindex, std::span<const uint8_t> arp, base::Instant now);

  // Sends an IPv4 datagram (packet starts at the IP header, with headroom for the
  // Ethernet header) to next_hop on ifindex: at once when the neighbour is known,
  // else after resolution. Limited broadcast and directed broadcast go to ff:ff:..,
  // multicast to its RFC 1112 MAC (01:00:5e + low 23 bits), without resolution.
  // A known neighbour in kReachable costs one hash lookup and no allocation.
  // The cache has one entry per address: sending to an address known on another
  // interface moves its entry to this one (resolved afresh).
  void send_ipv4(uint32_t ifindex, wire::Ipv4Address next_hop, buf::Packet packet, base::Instant now);

  // Introspection for stats and tests.
  template <typename F>
  void for_each_entry(F&& f) const {  // f(const ArpEntryView&), in no particular order
    for (const auto& [ip, e] : entries_) f(view(e));
  }
  std::optional<ArpEntryView> find(wire::Ipv4Address ip) const;

  // For per-connection path caches (Ipv4PathCache): the MAC of a neighbour in
  // kReachable on ifindex, and a version that changes whenever any entry may stop
  // being what a cache copied (leaves kReachable, changes MAC or interface, goes away).
  std::optional<wire::MacAddress> reachable_mac(uint32_t ifindex, wire::Ipv4Address ip) const;
  uint64_t version() const { return version_; }
  size_t size() const;
  const base::CounterSet<ArpCounter>& counters() const { return counters_; }

 private:
  // One neighbour. Lives in entries_ (node-based: its address never changes, which the
  // timer's context pointer relies on). The one timer means, by state:
  //   kIncomplete          next request (or give up after the last one)
  //   kReachable           reachable_time is over: become kStale
  //   kStale, idle         gc_time is over: remove
  //   kStale, refreshing   the unicast refresh went unanswered: back to kIncomplete
  struct Entry {
    Entry(ArpResolver* owner, wire::Ipv4Address ip, uint32_t ifindex);
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    ArpResolver* owner;
    wire::Ipv4Address ip;
    wire::MacAddress mac;  // valid unless kIncomplete
    uint32_t ifindex;
    ArpState state = ArpState::kIncomplete;
    bool refreshing = false;  // kStale only: a unicast request is outstanding
    uint32_t requests = 0;    // kIncomplete: requests sent in this round
    std::vector<buf::Packet> pending;  // kIncomplete only; oldest first
    // Intrusive list of idle kStale entries, oldest first: the eviction candidates.
    Entry* idle_prev = nullptr;
    Entry* idle_next = nullptr;
    bool in_idle_list = false;
    base::Timer timer;
  };

  static void on_timer(void* context, base::Instant now);
  void expire(Entry& e, base::Instant now);

  void answer_request(const Interface& itf, uint32_t ifindex, const wire::ArpRepr& req);
  // RFC 826 merge: the sender is already known on this interface.
  void update(Entry& e, wire::MacAddress mac, bool confirmed, base::Instant now);
  Entry* create(wire::Ipv4Address ip, uint32_t ifindex);
  void remove(Entry& e);

  void start_probing(Entry& e, base::Instant now);
  void send_request(Entry& e, bool unicast);
  void become_reachable(Entry& e, wire::MacAddress mac, base::Instant now);
  void become_stale_idle(Entry& e, base::Instant now);
  // Sends through a kStale entry; starts the refresh if none is outstanding.
  void send_via_stale(Entry& e, buf::Packet packet, base::Instant now);
  void enqueue(Entry& e, buf::Packet packet);
  void flush_pending(Entry& e, base::Instant now);
  bool send_arp(uint32_t ifindex, wire::MacAddress dst, const wire::ArpRepr& repr);

  void idle_push(Entry& e);
  void idle_unlink(Entry& e);

  ArpEntryView view(const Entry& e) const { return {e.ip, e.mac, e.ifindex, e.state, e.pending.size()}; }

  const ArpConfig config_;
  const InterfaceTable& interfaces_;
  base::TimerWheel& timers_;
  buf::PacketPool& pool_;
  EthernetLink& link_;
  base::CounterSet<ArpCounter> counters_;
  std::unordered_map<wire::Ipv4Address, Entry> entries_;
  uint64_t version_ = 0;
  Entry* idle_head_ = nullptr;  // oldest idle kStale entry
  Entry* idle_tail_ = nullptr;
};

}  // namespace joyride::core
