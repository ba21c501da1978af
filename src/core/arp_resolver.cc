#include "joyride/core/arp_resolver.h"

#include <algorithm>
#include <utility>

#include "joyride/core/frame.h"
#include "joyride/wire/ethernet.h"

namespace joyride::core {
namespace {

using base::Instant;
using wire::ArpOp;
using wire::ArpRepr;
using wire::Ipv4Address;
using wire::MacAddress;
using wire::EtherType;

// RFC 1112 §6.4: 01:00:5e followed by the low 23 bits of the group address.
MacAddress multicast_mac(Ipv4Address group) {
  const uint32_t v = group.value();
  return MacAddress{{0x01, 0x00, 0x5e, static_cast<uint8_t>((v >> 16) & 0x7f),
                     static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}};
}

// Buckets reserved up front, so that filling the cache never rehashes; past this the
// table grows on demand (a configuration with a huge max_entries need not pay for it).
constexpr size_t kMaxReservedEntries = 4096;

}  // namespace

ArpResolver::Entry::Entry(ArpResolver* o, Ipv4Address a, uint32_t i)
    : owner(o), ip(a), ifindex(i), timer(&ArpResolver::on_timer, this) {}

ArpResolver::ArpResolver(const ArpConfig& config, const InterfaceTable& interfaces,
                         base::TimerWheel& timers, buf::PacketPool& pool, EthernetLink& link)
    : config_(config), interfaces_(interfaces), timers_(timers), pool_(pool), link_(link) {
  entries_.reserve(std::min(config_.max_entries, kMaxReservedEntries));
}

// Destroying the entries cancels their timers and frees their queued packets.
ArpResolver::~ArpResolver() = default;

std::optional<ArpEntryView> ArpResolver::find(Ipv4Address ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  return view(it->second);
}

size_t ArpResolver::size() const { return entries_.size(); }

std::optional<MacAddress> ArpResolver::reachable_mac(uint32_t ifindex, Ipv4Address ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end() || it->second.ifindex != ifindex || it->second.state != ArpState::kReachable) {
    return std::nullopt;
  }
  return it->second.mac;
}

// ---------------------------------------------------------------------------------
// Receive

void ArpResolver::input(uint32_t ifindex, std::span<const uint8_t> bytes, Instant now) {
  auto parsed = ArpRepr::parse(bytes);
  if (!parsed) {
    counters_.inc(parsed.error() == wire::WireError::kUnsupported ? ArpCounter::kDropUnsupported
                                                                   : ArpCounter::kDropMalformed);
    return;
  }
  const ArpRepr& arp = *parsed;
  const Interface* itf = interfaces_.get(ifindex);
  if (itf == nullptr) {  // the link layer refuses unknown interfaces before this
    counters_.inc(ArpCounter::kDropUnsupported);
    return;
  }
  counters_.inc(arp.op == ArpOp::kRequest ? ArpCounter::kRxRequests : ArpCounter::kRxReplies);
  const bool for_us = itf->has_address(arp.target_ip);

  // A sender MAC we must never send to, or one pretending to be us.
  if (arp.sender_mac.is_multicast() || arp.sender_mac == itf->mac()) {
    counters_.inc(ArpCounter::kDropBadSender);
    return;
  }
  // RFC 5227 §2.1.1: an ARP probe (sender 0.0.0.0) checks whether an address is in
  // use. Answer it when the address is ours; it teaches nothing about the sender.
  if (arp.sender_ip.is_unspecified()) {
    if (arp.op == ArpOp::kRequest && for_us) {
      answer_request(*itf, ifindex, arp);
    } else {
      counters_.inc(ArpCounter::kDropBadSender);
    }
    return;
  }
  // A sender using one of our addresses is an address conflict (or our own packet
  // reflected); a broadcast or multicast sender address is nonsense. Neither is learnt.
  if (!arp.sender_ip.is_unicast() || itf->is_directed_broadcast(arp.sender_ip) ||
      interfaces_.is_local(arp.sender_ip)) {
    counters_.inc(ArpCounter::kDropBadSender);
    return;
  }

  const bool request_for_us = arp.op == ArpOp::kRequest && for_us;
  if (request_for_us) answer_request(*itf, ifindex, arp);

  // RFC 826 merge: a sender already in the table is updated, whoever the packet was for.
  auto it = entries_.find(arp.sender_ip);
  if (it != entries_.end()) {
    if (it->second.ifindex == ifindex) {
      // Only a reply to one of our addresses shows that the neighbour hears us. A
      // gratuitous reply has sender == target, never one of ours (refused above).
      update(it->second, arp.sender_mac, arp.op == ArpOp::kReply && for_us, now);
    }
    return;
  }
  // "If I am the target ... add the triplet" (RFC 826). Only requests for us create
  // entries; kStale, as Linux does: the request does not prove that our frames reach
  // the sender, so the first use of the entry confirms it.
  if (request_for_us) {
    Entry* e = create(arp.sender_ip, ifindex);
    if (e != nullptr) {
      e->mac = arp.sender_mac;
      become_stale_idle(*e, now);
    }
  }
}

void ArpResolver::answer_request(const Interface& itf, uint32_t ifindex, const ArpRepr& req) {
  // RFC 826: swap sender and target, fill in our MAC, and send it back to the asker
  // only. For a probe the target IP is 0.0.0.0, as Linux answers.
  const ArpRepr reply{ArpOp::kReply, itf.mac(), req.target_ip, req.sender_mac, req.sender_ip};
  if (send_arp(ifindex, req.sender_mac, reply)) counters_.inc(ArpCounter::kTxReplies);
}

void ArpResolver::update(Entry& e, MacAddress mac, bool confirmed, Instant now) {
  ++version_;  // see reachable_mac
  if (confirmed) {
    become_reachable(e, mac, now);
    return;
  }
  if (e.state != ArpState::kIncomplete && e.mac == mac) return;  // nothing new
  e.mac = mac;
  if (e.state == ArpState::kIncomplete && !e.pending.empty()) {
    // Resolved by weaker evidence: send what waited, which starts a refresh.
    timers_.cancel(e.timer);
    e.state = ArpState::kStale;
    e.refreshing = false;
    e.requests = 0;
    flush_pending(e, now);
    return;
  }
  become_stale_idle(e, now);
}

// ---------------------------------------------------------------------------------
// Send

void ArpResolver::send_ipv4(uint32_t ifindex, Ipv4Address next_hop, buf::Packet packet, Instant now) {
  auto it = entries_.find(next_hop);
  Entry* e = it != entries_.end() ? &it->second : nullptr;
  if (e != nullptr && e->ifindex == ifindex) {
    switch (e->state) {
      case ArpState::kReachable:
        link_.send(ifindex, e->mac, EtherType::kIpv4, std::move(packet));
        return;
      case ArpState::kStale:
        send_via_stale(*e, std::move(packet), now);
        return;
      case ArpState::kIncomplete:
        enqueue(*e, std::move(packet));
        return;
    }
  }

  const Interface* itf = interfaces_.get(ifindex);
  if (itf == nullptr || next_hop.is_unspecified() || next_hop.is_loopback() ||
      interfaces_.is_local(next_hop)) {
    counters_.inc(ArpCounter::kDropBadNextHop);
    return;
  }
  if (next_hop.is_broadcast() || itf->is_directed_broadcast(next_hop)) {
    link_.send(ifindex, MacAddress::broadcast(), EtherType::kIpv4, std::move(packet));
    return;
  }
  if (next_hop.is_multicast()) {
    link_.send(ifindex, multicast_mac(next_hop), EtherType::kIpv4, std::move(packet));
    return;
  }
  if (e == nullptr) {
    e = create(next_hop, ifindex);
    if (e == nullptr) return;  // counted; the packet is dropped with it
  } else {
    e->ifindex = ifindex;  // known on another interface: the route moved, resolve here
    ++version_;
  }
  start_probing(*e, now);
  enqueue(*e, std::move(packet));
}

void ArpResolver::send_via_stale(Entry& e, buf::Packet packet, Instant now) {
  link_.send(e.ifindex, e.mac, EtherType::kIpv4, std::move(packet));
  if (e.refreshing) return;
  idle_unlink(e);
  e.refreshing = true;
  send_request(e, /*unicast=*/true);
  timers_.arm(e.timer, now + config_.retry_interval);
}

void ArpResolver::enqueue(Entry& e, buf::Packet packet) {
  // Linux's unres_qlen: the newest packets are worth more than the oldest.
  if (config_.max_pending_per_entry == 0) {
    counters_.inc(ArpCounter::kDropPendingOverflow);
    return;
  }
  if (e.pending.size() >= config_.max_pending_per_entry) {
    e.pending.erase(e.pending.begin());
    counters_.inc(ArpCounter::kDropPendingOverflow);
  }
  e.pending.push_back(std::move(packet));
}

void ArpResolver::flush_pending(Entry& e, Instant now) {
  std::vector<buf::Packet> out = std::exchange(e.pending, {});
  for (buf::Packet& p : out) {
    if (e.state == ArpState::kReachable) {
      link_.send(e.ifindex, e.mac, EtherType::kIpv4, std::move(p));
    } else {
      send_via_stale(e, std::move(p), now);
    }
  }
}

void ArpResolver::send_request(Entry& e, bool unicast) {
  const Interface* itf = interfaces_.get(e.ifindex);
  if (itf == nullptr) return;  // interfaces are never removed; entries are made for known ones
  // An interface without an address asks with sender 0.0.0.0, an RFC 5227 probe, which
  // neighbours still answer. The target MAC is zero (RFC 5227 §2.1.1, Linux too).
  const ArpRepr req{ArpOp::kRequest, itf->mac(), itf->source_for(e.ip).value_or(Ipv4Address::any()),
                    MacAddress{}, e.ip};
  if (send_arp(e.ifindex, unicast ? e.mac : MacAddress::broadcast(), req)) {
    counters_.inc(ArpCounter::kTxRequests);
  }
}

bool ArpResolver::send_arp(uint32_t ifindex, MacAddress dst, const ArpRepr& repr) {
  buf::Packet p = pool_.alloc(kPacketHeadroom);
  if (p.empty()) return false;  // the pool counts its exhaustion
  uint8_t* bytes = p.append(ArpRepr::kLen);
  if (bytes == nullptr) return false;
  repr.emit(std::span<uint8_t>(bytes, ArpRepr::kLen));
  return link_.send(ifindex, dst, EtherType::kArp, std::move(p));
}

// ---------------------------------------------------------------------------------
// States and timers

void ArpResolver::start_probing(Entry& e, Instant now) {
  idle_unlink(e);
  e.state = ArpState::kIncomplete;
  e.refreshing = false;
  e.requests = 1;
  send_request(e, /*unicast=*/false);
  timers_.arm(e.timer, now + config_.retry_interval);
}

void ArpResolver::become_reachable(Entry& e, MacAddress mac, Instant now) {
  idle_unlink(e);
  e.mac = mac;
  e.state = ArpState::kReachable;
  e.refreshing = false;
  e.requests = 0;
  timers_.arm(e.timer, now + config_.reachable_time);
  flush_pending(e, now);
}

void ArpResolver::become_stale_idle(Entry& e, Instant now) {
  e.state = ArpState::kStale;
  e.refreshing = false;
  e.requests = 0;
  idle_unlink(e);
  idle_push(e);
  timers_.arm(e.timer, now + config_.gc_time);
}

void ArpResolver::on_timer(void* context, Instant now) {
  auto* e = static_cast<Entry*>(context);
  e->owner->expire(*e, now);
}

void ArpResolver::expire(Entry& e, Instant now) {
  ++version_;  // see reachable_mac
  switch (e.state) {
    case ArpState::kIncomplete:
      if (e.requests >= std::max<uint32_t>(config_.max_retries, 1)) {
        counters_.inc(ArpCounter::kDropResolutionFailed, e.pending.size());
        remove(e);
        return;
      }
      ++e.requests;
      send_request(e, /*unicast=*/false);
      timers_.arm(e.timer, now + config_.retry_interval);
      return;
    case ArpState::kReachable:
      become_stale_idle(e, now);
      return;
    case ArpState::kStale:
      if (e.refreshing) {
        start_probing(e, now);  // the unicast refresh went unanswered
      } else {
        remove(e);  // gc_time unused
      }
      return;
  }
}

// ---------------------------------------------------------------------------------
// The table

ArpResolver::Entry* ArpResolver::create(Ipv4Address ip, uint32_t ifindex) {
  if (entries_.size() >= config_.max_entries) {
    if (idle_head_ == nullptr) {
      counters_.inc(ArpCounter::kDropCacheFull);
      return nullptr;
    }
    remove(*idle_head_);
  }
  auto [it, inserted] = entries_.try_emplace(ip, this, ip, ifindex);
  return &it->second;
}

void ArpResolver::remove(Entry& e) {
  ++version_;  // see reachable_mac
  idle_unlink(e);
  const Ipv4Address ip = e.ip;  // e is destroyed by the erase (its timer cancelled)
  entries_.erase(ip);
}

void ArpResolver::idle_push(Entry& e) {
  e.idle_prev = idle_tail_;
  e.idle_next = nullptr;
  (idle_tail_ != nullptr ? idle_tail_->idle_next : idle_head_) = &e;
  idle_tail_ = &e;
  e.in_idle_list = true;
}

void ArpResolver::idle_unlink(Entry& e) {
  if (!e.in_idle_list) return;
  (e.idle_prev != nullptr ? e.idle_prev->idle_next : idle_head_) = e.idle_next;
  (e.idle_next != nullptr ? e.idle_next->idle_prev : idle_tail_) = e.idle_prev;
  e.idle_prev = nullptr;
  e.idle_next = nullptr;
  e.in_idle_list = false;
}

}  // namespace joyride::core
