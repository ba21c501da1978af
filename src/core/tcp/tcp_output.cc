// What to send and how to build it: loss repair first, then new data as the
// congestion window, the peer's window, Nagle/cork and sender-side silly window
// avoidance allow (RFC 9293 §3.8.6.2.1, RFC 5681, RFC 6675), then a pure ACK if one
// is owed. Payload is copied once, from the send ring into the packet.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "joyride/base/bytes.h"
#include "joyride/core/frame.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/core/tcp_layer.h"
#include "joyride/wire/checksum.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Instant;
using base::SeqNum;
using tcp::Tcb;
using wire::TcpFlags;

uint32_t TcpLayer::tsval(const Tcb& t, Instant now) const {
  // Linux's TCP timestamp clock ticks in milliseconds (TCP_TS_HZ = 1000).
  return static_cast<uint32_t>(now.as_nanos() / 1'000'000) + t.ts_offset;
}

size_t TcpLayer::sack_blocks(const Tcb& t, std::span<wire::SackBlock, 4> out) const {
  size_t n = 0;
  if (t.dsack_pending) out[n++] = t.dsack_block;  // RFC 2883: the D-SACK block goes first
  std::array<wire::SackBlock, 4> ooo;
  const size_t k = t.ooo.sack_blocks(ooo);
  for (size_t i = 0; i < k && n < out.size(); ++i) out[n++] = ooo[i];
  // What fits in 40 bytes beside the timestamps (RFC 2018 §3): 3 blocks, else 4.
  return std::min<size_t>(n, t.ts_ok ? 3 : 4);
}

uint32_t TcpLayer::current_mss_with_sack(const Tcb& t) const {
  // Payload that fits a segment now: SACK blocks (and a D-SACK) carried on data
  // segments take option space too, so a full segment shrinks while they are sent
  // (Linux tcp_current_mss); otherwise it would exceed the path MTU.
  std::array<wire::SackBlock, 4> blocks;
  const size_t n = sack_blocks_to_send(t, blocks);
  if (n == 0) return t.mss;
  const uint32_t extra = static_cast<uint32_t>(4 + 8 * n);  // NOP NOP SACK len, then the blocks
  return t.mss > extra + 64 ? t.mss - extra : 64;
}

bool TcpLayer::emit_syn_header(Tcb& t, buf::Packet& p, SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                               uint32_t payload_sum, Instant now) {
  wire::TcpRepr h;
  h.src_port = t.tuple.local_port;
  h.dst_port = t.tuple.remote_port;
  h.seq = seq;
  h.flags = flags;
  if ((flags & TcpFlags::kAck) != 0) h.ack = t.rcv_nxt;
  h.window = window;
  // Linux's SYN layout: MSS, SACK-permitted+timestamps, NOP+window scale (the wire
  // layer lays them out in that order). A SYN-ACK echoes what the peer offered.
  wire::TcpOptions& o = h.options;
  o.mss = t.adv_mss;
  const bool syn_ack = (flags & TcpFlags::kAck) != 0;
  if (syn_ack ? t.sack_ok : config_.sack) o.sack_permitted = true;
  // A SYN's TSecr is 0 but on a 4-tuple taken over from TIME_WAIT, where it echoes
  // the old connection's TS.Recent as Linux's does (tcp_twsk_unique carries it over).
  if (syn_ack ? t.ts_ok : config_.timestamps) o.timestamps = std::pair{tsval(t, now), t.ts_recent};
  if (syn_ack ? t.wscale_ok : config_.window_scaling) o.window_scale = t.rcv_wscale;
  h.payload_len = static_cast<uint16_t>(len);
  const size_t hlen = h.header_len_to_emit();
  uint8_t* hdr = p.prepend(hlen);
  if (hdr == nullptr) return false;
  h.emit_header(std::span<uint8_t>(hdr, hlen), t.tuple.local, t.tuple.remote, payload_sum);
  return true;
}

// Every segment after the handshake: options are only timestamps and SACK blocks, so
// the header is written directly, in the layout TcpOptions::emit gives them (Linux's:
// NOP NOP TS, then NOP NOP SACK; at most 3 blocks beside timestamps, else 4). It runs
// for every data segment and ACK, where the general TcpRepr path cost ~300
// instructions (bench/README.md).
bool TcpLayer::emit_header(Tcb& t, buf::Packet& p, SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                           bool offload, uint32_t payload_sum, Instant now) {
  uint8_t options[wire::kTcpMaxOptionsLen];
  size_t olen = 0;
  if (t.ts_ok) {
    options[0] = wire::TcpOptionKind::kNop;
    options[1] = wire::TcpOptionKind::kNop;
    options[2] = wire::TcpOptionKind::kTimestamps;
    options[3] = 10;
    base::store_be<uint32_t>(options, 4, tsval(t, now));
    base::store_be<uint32_t>(options, 8, t.ts_recent);
    olen = tcp::kTimestampOptionLen;
  }
  std::array<wire::SackBlock, 4> blocks;
  if (const size_t n = sack_blocks_to_send(t, blocks); n != 0) {
    if (t.dsack_pending) counters_.inc(TcpCounter::kDsackSent);
    options[olen] = wire::TcpOptionKind::kNop;
    options[olen + 1] = wire::TcpOptionKind::kNop;
    options[olen + 2] = wire::TcpOptionKind::kSack;
    options[olen + 3] = static_cast<uint8_t>(2 + 8 * n);
    olen += 4;
    for (size_t i = 0; i < n; ++i) {
      base::store_be<uint32_t>(options, olen, blocks[i].left.value());
      base::store_be<uint32_t>(options, olen + 4, blocks[i].right.value());
      olen += 8;
    }
  }
  const size_t hlen = wire::kTcpHeaderLen + olen;
  uint8_t* h = p.prepend(hlen);
  if (h == nullptr) return false;
  base::store_be<uint16_t>(h, 0, t.tuple.local_port);
  base::store_be<uint16_t>(h, 2, t.tuple.remote_port);
  base::store_be<uint32_t>(h, 4, seq.value());
  base::store_be<uint32_t>(h, 8, (flags & TcpFlags::kAck) != 0 ? t.rcv_nxt.value() : 0u);
  h[12] = static_cast<uint8_t>((hlen / 4) << 4);
  h[13] = flags;
  base::store_be<uint16_t>(h, 14, window);
  base::store_be<uint16_t>(h, 16, 0);  // checksum, below
  base::store_be<uint16_t>(h, 18, 0);  // urgent pointer: we never send urgent data
  if (olen != 0) std::memcpy(h + wire::kTcpHeaderLen, options, olen);
  // TSO: the device adds each segment's length to a pseudo-header sum without it.
  const bool tso = (p.offload() & buf::kTxTcpSegmentation) != 0;
  uint32_t sum = wire::pseudo_header_v4(t.tuple.local, t.tuple.remote, wire::IpProtocol::kTcp,
                                        tso ? uint16_t{0} : static_cast<uint16_t>(hlen + len));
  if (offload) {
    // The device sums header and payload from the pseudo header's sum (buf::Offload).
    base::store_be<uint16_t>(h, 16, pseudo_header_partial(sum));
    p.set_offload(static_cast<uint8_t>(p.offload() | buf::kTxL4ChecksumPartial));
    return true;
  }
  sum = wire::checksum_accumulate(std::span<const uint8_t>(h, hlen), sum);
  base::store_be<uint16_t>(h, 16, wire::checksum_fold(wire::checksum_combine(sum, payload_sum)));
  return true;
}

// The frame of a segment after the handshake without SACK blocks and without TSO,
// along a path cache that output_cached would use as it is (Ipv4Layer::
// cached_path_ready): the Ethernet, IPv4 and TCP headers are prepended in one step,
// the TCP header is written in emit_header's layout (NOP NOP TS when timestamps
// were negotiated) and Ipv4Layer::send_cached_frame completes and queues the frame.
// Byte for byte the frame emit_header + output_cached build, for about a third of
// the instructions. False, with `p` unchanged, when the segment is not such a one.
// Inlined into send_segment, its only caller, which it saves a call with eleven
// arguments per segment.
[[gnu::always_inline]] inline bool TcpLayer::send_frame_cached(Tcb& t, buf::Packet& p, SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                                 bool offload, uint32_t payload_sum, uint8_t tos, uint16_t tso_segsz, Instant now) {
  if ((flags & TcpFlags::kSyn) != 0 || tso_segsz != 0 || has_sack_blocks_to_send(t)) return false;
  const uint32_t ip_len = wire::kIpv4HeaderLen + tcp::plain_header_len(t) + len;
  if (!ip_.cached_path_ready(t.path, ip_len, offload, now)) return false;
  return write_cached_frame(t, p, seq, flags, window, len, offload, std::optional<uint32_t>(payload_sum), tos, now);
}

// send_frame_cached once its conditions hold; send_fast, which checks them once for a
// whole burst, calls it directly. False, `p` unchanged, without room for the headers.
// Without offload, `payload_sum` is the payload's partial sum when the caller has it;
// empty, the header and payload are summed here in one pass over the frame (one call
// over contiguous bytes instead of a header sum, a payload sum and their combination).
[[gnu::always_inline]] inline bool TcpLayer::write_cached_frame(Tcb& t, buf::Packet& p, SeqNum seq, uint8_t flags,
                                                                uint16_t window, uint32_t len, bool offload,
                                                                std::optional<uint32_t> payload_sum, uint8_t tos,
                                                                Instant now) {
  const uint32_t hlen = tcp::plain_header_len(t);
  const uint32_t ip_len = wire::kIpv4HeaderLen + hlen + len;
  uint8_t* f = p.prepend(Ipv4PathCache::kHeaderLen + hlen);
  if (f == nullptr) return false;
  uint8_t* h = f + Ipv4PathCache::kHeaderLen;
  base::store_be<uint16_t>(h, 0, t.tuple.local_port);
  base::store_be<uint16_t>(h, 2, t.tuple.remote_port);
  base::store_be<uint32_t>(h, 4, seq.value());
  base::store_be<uint32_t>(h, 8, (flags & TcpFlags::kAck) != 0 ? t.rcv_nxt.value() : 0u);
  h[12] = static_cast<uint8_t>((hlen / 4) << 4);
  h[13] = flags;
  base::store_be<uint16_t>(h, 14, window);
  base::store_be<uint16_t>(h, 16, 0);  // checksum, below
  base::store_be<uint16_t>(h, 18, 0);  // urgent pointer: we never send urgent data
  if (t.ts_ok) {
    h[20] = wire::TcpOptionKind::kNop;
    h[21] = wire::TcpOptionKind::kNop;
    h[22] = wire::TcpOptionKind::kTimestamps;
    h[23] = 10;
    base::store_be<uint32_t>(h, 24, tsval(t, now));
    base::store_be<uint32_t>(h, 28, t.ts_recent);
  }
  // The path was filled for this connection's addresses (params.src/dst: the tuple).
  const uint32_t sum = t.path.pseudo_sum + hlen + len;
  if (offload) {
    base::store_be<uint16_t>(h, 16, pseudo_header_partial(sum));
    p.set_offload(static_cast<uint8_t>(p.offload() | buf::kTxL4ChecksumPartial));
  } else if (payload_sum) {
    const uint32_t header_sum = wire::checksum_accumulate(std::span<const uint8_t>(h, hlen), sum);
    base::store_be<uint16_t>(h, 16, wire::checksum_fold(wire::checksum_combine(header_sum, *payload_sum)));
  } else if (p.is_contiguous()) {
    // A segment with data: straight to the bulk sum (accumulate_any takes any length;
    // checksum_accumulate would first test for a bare header).
    const std::span<const uint8_t> segment(h, hlen + len);
    base::store_be<uint16_t>(h, 16, wire::checksum_fold(wire::checksum_detail::accumulate_any(segment, sum)));
  } else {
    base::store_be<uint16_t>(h, 16, wire::checksum_fold(packet_checksum_accumulate(p, Ipv4PathCache::kHeaderLen, sum)));
  }
  ip_.send_cached_frame(t.path, std::move(p), static_cast<uint16_t>(ip_len), tos);
  return true;
}

// send_fast's copy of send_segment's payload loop. (send_segment keeps its own,
// same loop: calling this from there made gcc lay out send_segment differently and
// cost a pure ACK ~6 instructions, bench/README.md.)
// The payload is not summed here: write_cached_frame sums it with the header.
[[gnu::always_inline]] inline bool TcpLayer::append_payload(Tcb& t, buf::Packet& p, SeqNum seq, uint32_t len) {
  const size_t offset = static_cast<size_t>(seq - t.snd_buf_seq);
  const auto parts = t.snd.readable(offset, len);
  for (const auto& part : parts) {
    if (!part.empty() && !p.append_bytes(part, pool_)) return false;
  }
  assert(p.len() == len);
  return true;
}

TcpLayer::TsoPlan TcpLayer::tso_plan(const Tcb& t, uint32_t mss, Instant now) const {
  // Only along a path already resolved (its cache current): the frame must leave by
  // the interface whose TSO limits it was sized for (Ipv4Layer::output_cached).
  const Ipv4PathCache& path = t.path;
  if (path.tso_max == 0 || path.version != ip_.path_version() || now >= path.valid_until) return {};
  const uint32_t segment = path.tso_segment_max != 0 ? std::min<uint32_t>(mss, path.tso_segment_max) : mss;
  if (path.tso_max < 2 * segment) return {};
  return {segment, path.tso_max / segment * segment};
}

bool TcpLayer::send_segment(Tcb& t, SeqNum seq, uint32_t len, uint8_t flags, Instant now, bool retransmit,
                            uint16_t tso_segsz) {
  buf::Packet p = pool_.alloc(kPacketHeadroom);
  if (p.empty()) {
    counters_.inc(TcpCounter::kDropNoBuffers);
    return false;
  }
  if (tso_segsz != 0) p.set_tso(tso_segsz);
  const bool syn = (flags & TcpFlags::kSyn) != 0;
  // With a device that completes checksums the payload is not summed here at all.
  const bool offload = !syn && ip_.tx_l4_checksum_offload();
  uint32_t payload_sum = 0;
  if (len != 0) {
    const size_t offset = static_cast<size_t>(seq - t.snd_buf_seq);
    const auto parts = t.snd.readable(offset, len);
    size_t position = 0;
    for (const auto& part : parts) {
      if (part.empty()) continue;
      if (!p.append_bytes(part, pool_)) {
        counters_.inc(TcpCounter::kDropNoBuffers);
        return false;
      }
      if (!offload) payload_sum = wire::checksum_accumulate_at(part, position, payload_sum);
      position += part.size();
    }
    assert(position == len);
  }
  if (t.ecn_ok && !syn) {
    // RFC 3168 §6.1: echo congestion with ECE until the peer's CWR; say CWR once on
    // new data after reducing the window ourselves.
    if (t.ece_pending) flags |= TcpFlags::kEce;
    if (t.cwr_pending && len != 0 && !retransmit) {
      flags |= TcpFlags::kCwr;
      t.cwr_pending = false;
    }
  }
  const uint32_t window = receive_window(t);
  // Windows in SYN segments are never scaled (RFC 7323 §2.2).
  const auto wire_window = syn ? static_cast<uint16_t>(std::min<uint32_t>(window, 65535))
                               : static_cast<uint16_t>(std::min<uint32_t>(window >> t.rcv_wscale, 65535));
  if ((flags & TcpFlags::kAck) != 0) {
    t.rcv_adv = base::seq_max(t.rcv_adv, t.rcv_nxt + (syn ? wire_window : (uint32_t{wire_window} << t.rcv_wscale)));
    t.last_ack_sent = t.rcv_nxt;
  }
  // ECT(0) on new data only: never on retransmissions or pure ACKs (RFC 3168 §6.1.5).
  const uint8_t tos = t.ecn_ok && len != 0 && !retransmit ? 0x02 : 0;
  const uint32_t wire_segments = tso_segsz != 0 ? (len + tso_segsz - 1) / tso_segsz : 1;
  if (!send_frame_cached(t, p, seq, flags, wire_window, len, offload, payload_sum, tos, tso_segsz, now)) {
    const bool built = syn ? emit_syn_header(t, p, seq, flags, wire_window, len, payload_sum, now)
                           : emit_header(t, p, seq, flags, wire_window, len, offload, payload_sum, now);
    if (!built) {
      counters_.inc(TcpCounter::kDropNoBuffers);
      return false;
    }
    Ipv4SendParams params;
    params.src = t.tuple.local;
    params.dst = t.tuple.remote;
    params.protocol = wire::IpProtocol::kTcp;
    params.dont_fragment = true;  // path MTU discovery (RFC 1191), as Linux
    params.tos = tos;
    params.segments = static_cast<uint16_t>(wire_segments);
    if (!ip_.output_cached(t.path, params, std::move(p), now)) return false;
  }
  counters_.inc(TcpCounter::kTxSegments, wire_segments);
  if (tso_segsz != 0) counters_.inc(TcpCounter::kTxTsoFrames);
  t.segs_out += wire_segments;
  t.bytes_sent += len;
  if (retransmit) {
    counters_.inc(TcpCounter::kRetransSegments);
    ++t.total_retrans;
    t.bytes_retrans += len;
  }
  if ((flags & TcpFlags::kAck) != 0) {
    // Every segment carries the ACK: whatever was owed has been said.
    t.ack_now = false;
    t.unacked_full_segments = 0;
    t.dsack_pending = false;
    t.delack_owed = false;  // the timer, if armed, fires into nothing (tcb.h)
  }
  return true;
}

void TcpLayer::send_ack(Tcb& t, Instant now) { send_segment(t, t.snd_nxt, 0, TcpFlags::kAck, now); }

void TcpLayer::send_syn(Tcb& t, Instant now) {
  if (t.rto_count == 0) t.handshake_started_at = now;
  if (t.state == TcpState::kSynSent) {
    // The scale we offer covers the largest receive buffer we may grow to.
    const size_t space = t.rcvbuf_limit ? t.rcvbuf_limit : config_.rcvbuf_max;
    t.rcv_wscale = config_.window_scaling ? tcp::window_scale_for(space) : 0;
    t.syn_sent_at = now;
    send_segment(t, t.iss, 0, TcpFlags::kSyn, now);
  } else {
    if (!t.wscale_ok) t.rcv_wscale = 0;
    send_segment(t, t.iss, 0, TcpFlags::kSyn | TcpFlags::kAck | (t.ecn_ok ? TcpFlags::kEce : 0), now);
  }
  // A SYN-ACK resent after close() (syn_unacked, FIN-WAIT-1) leaves the FIN beyond it
  // outstanding.
  if (!t.syn_unacked) t.snd_nxt = t.snd_max = t.iss + 1;
}

void TcpLayer::send_rst(Tcb& t, Instant now) {
  (void)now;
  wire::TcpOptions none;
  counters_.inc(TcpCounter::kOutRsts);
  send_raw(t.tuple, t.snd_nxt, t.rcv_nxt, TcpFlags::kRst | TcpFlags::kAck, 0, none);
}

void TcpLayer::send_raw(const tcp::FourTuple& tuple, SeqNum seq, SeqNum ack, uint8_t flags, uint16_t window,
                        const wire::TcpOptions& options) {
  buf::Packet p = pool_.alloc(kPacketHeadroom);
  if (p.empty()) {
    counters_.inc(TcpCounter::kDropNoBuffers);
    return;
  }
  wire::TcpRepr h;
  h.src_port = tuple.local_port;
  h.dst_port = tuple.remote_port;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.window = window;
  h.options = options;
  const size_t hlen = h.header_len_to_emit();
  uint8_t* hdr = p.append(hlen);
  if (hdr == nullptr) return;
  h.emit_header(std::span<uint8_t>(hdr, hlen), tuple.local, tuple.remote, 0u);
  Ipv4SendParams params;
  params.src = tuple.local;
  params.dst = tuple.remote;
  params.protocol = wire::IpProtocol::kTcp;
  params.dont_fragment = true;
  if (ip_.output(params, std::move(p), Instant{})) counters_.inc(TcpCounter::kTxSegments);
}

void TcpLayer::send_reset_for(const Rx& rx) {
  // RFC 9293 §3.10.7.1: if the segment has an ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  wire::TcpOptions none;
  counters_.inc(TcpCounter::kOutRsts);
  if (rx.has(TcpFlags::kAck)) {
    send_raw(rx.tuple, rx.ack(), SeqNum(0), TcpFlags::kRst, 0, none);
  } else {
    send_raw(rx.tuple, SeqNum(0), rx.seq() + rx.seg_len(), TcpFlags::kRst | TcpFlags::kAck, 0, none);
  }
}

bool TcpLayer::retransmit_lost(Tcb& t, Instant now) {
  bool any = false;
  const uint32_t mss = current_mss(t);
  while (const tcp::SentSegment* s = t.rtx.next_lost()) {
    // RFC 6675 §5 (NextSeg rule 1): repair while the pipe leaves room in cwnd; after an
    // RTO, cwnd is one segment and the first retransmission always goes.
    if (t.rtx.in_flight() >= t.cc->cwnd() && any) break;
    // Entering fast recovery, or a NewReno partial ACK, sends its retransmission
    // whatever the pipe (RFC 5681 §3.2 step 4, RFC 6582 §3.2 step 3; Linux PRR sends
    // at least one): so one is always in flight while recovering.
    if (t.rtx.in_flight() >= t.cc->cwnd() && !t.in_loss && !(t.in_recovery && t.rtx.retrans_bytes() == 0)) break;
    const SeqNum begin = s->begin;
    SeqNum end = s->end;
    const bool has_fin = t.fin_sent && base::seq_in_window(t.fin_seq, begin, end);
    uint32_t data = static_cast<uint32_t>(end - begin) - (has_fin ? 1 : 0);
    bool fin = has_fin;
    if (data > mss) {
      data = mss;
      fin = false;
      end = begin + data;
    }
    uint8_t flags = TcpFlags::kAck | (fin ? TcpFlags::kFin : 0);
    if (!send_segment(t, begin, data, flags, now, true)) break;
    t.rtx.on_retransmit(begin, end, now);
    any = true;
  }
  return any;
}

bool TcpLayer::transmit_data(Tcb& t, Instant now) {
  if (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait) return false;
  // Nothing queued (a receiver's every output): skip the window and MSS work.
  if (unsent_bytes(t) == 0 && !(t.fin_queued && !t.fin_sent)) return false;
  // Idle restart (RFC 5681 §4.1): after an idle period longer than the RTO the window
  // the connection had is stale.
  if (t.rtx.empty() && unsent_bytes(t) != 0 && t.last_tx_data != Instant{} &&
      now - t.last_tx_data > t.rtt.rto()) {
    t.cc->on_idle_restart(now);
  }
  const uint32_t mss = current_mss(t);
  // TSO only along a path whose device does it: one test when it does not.
  const TsoPlan tso = t.path.tso_max != 0 ? tso_plan(t, mss, now) : TsoPlan{};
  // Neither the congestion window nor the duplicate-ACK count changes while sending,
  // so the cwnd limit is computed once. Limited transmit (RFC 3042): each of the
  // first two duplicate ACKs lets one new segment out beyond cwnd, so a small window
  // still produces the third dupack.
  const uint32_t extra = (!t.in_recovery && !t.in_loss) ? std::min<uint32_t>(t.dupacks, 2) * mss : 0;
  const uint32_t cwnd_limit = t.cc->cwnd() + extra;
  bool any = false;
  for (;;) {
    const uint32_t unsent = unsent_bytes(t);
    const bool fin_ready = t.fin_queued && !t.fin_sent;
    if (unsent == 0 && !fin_ready) break;
    const uint32_t in_flight = t.rtx.in_flight();
    if (in_flight >= cwnd_limit) break;
    const uint32_t window_left = send_window_left(t);
    uint32_t len = std::min(std::min(unsent, mss), window_left);
    uint16_t tso_segsz = 0;
    if (tso.frame_max != 0 && len == mss) {
      // TSO: as many whole segments as the windows have room for; only the frame
      // ending the queued data may end in a partial one. A single segment goes as
      // usual (MSS-sized).
      const uint32_t room = std::min(cwnd_limit - in_flight, window_left);
      uint32_t big = std::min<uint32_t>({unsent, tso.frame_max, std::max(room, mss)});
      // A partial tail only ends the queued data, and only where a lone partial
      // segment could go now (cork and Nagle hold it, a FIN does not wait; Linux's
      // tcp_mss_split_point): otherwise it stays queued, as without TSO.
      const bool tail_may_go = big == unsent && (fin_ready || (!t.cork && t.nodelay));
      if (!tail_may_go) big -= big % tso.segment;
      if (big > mss) {
        len = big;
        tso_segsz = static_cast<uint16_t>(tso.segment);
      }
    }
    if (len < mss) {
      if (unsent != 0 && len == 0) {
        // Zero window: the persist timer probes it (RFC 9293 §3.8.6.1) when nothing
        // else is outstanding to elicit a window update.
        if (t.rtx.empty() && t.rtx_mode == tcp::RtxTimerMode::kNone) arm_timer(t, tcp::RtxTimerMode::kZeroWindowProbe, now + t.rtt.rto());
        break;
      }
      if (len < unsent) {
        // Sender-side SWS avoidance: a window-limited runt only when it is at least
        // half the largest window the peer has offered (RFC 9293 §3.8.6.2.1).
        if (len < t.max_snd_wnd / 2) {
          if (t.rtx.empty() && t.rtx_mode == tcp::RtxTimerMode::kNone) arm_timer(t, tcp::RtxTimerMode::kZeroWindowProbe, now + t.rtt.rto());
          break;
        }
      } else if (!fin_ready) {
        // The last, partial segment. Cork holds it until the data fills a segment or
        // the cork is removed; Nagle (RFC 896) holds it while data is unacknowledged.
        if (t.cork) break;
        if (!t.nodelay && t.snd_nxt != t.snd_una) break;
      }
    }
    const bool fin = fin_ready && len == unsent;
    uint8_t flags = TcpFlags::kAck;
    if (len != 0 && len == unsent) flags |= TcpFlags::kPsh;
    if (fin) flags |= TcpFlags::kFin;
    if (!send_segment(t, t.snd_nxt, len, flags, now, false, tso_segsz)) break;
    const SeqNum begin = t.snd_nxt;
    t.snd_nxt += len + (fin ? 1u : 0u);
    t.snd_max = base::seq_max(t.snd_max, t.snd_nxt);
    t.rtx.on_send(begin, t.snd_nxt, now);
    t.last_tx_data = now;
    any = true;
    if (fin) {
      t.fin_sent = true;
      t.fin_seq = t.snd_nxt - 1;
      set_state(t, t.state == TcpState::kCloseWait ? TcpState::kLastAck : TcpState::kFinWait1, now);
      break;
    }
  }
  // cwnd held sending back if not even one more full segment fits in it (Linux counts
  // packets: in flight >= cwnd).
  const bool cwnd_full = t.rtx.in_flight() + mss > t.cc->cwnd();
  if (any || cwnd_full) cwnd_validate(t, cwnd_full);
  return any;
}

// send()'s short path (bench/README.md: transmit_data and send_segment spent ~600
// instructions per segment on decisions that do not change within a burst). On a
// connection in a plain state — ESTABLISHED, no ECN (no ECE/CWR/ECT to decide), no
// TSO, no SACK blocks to send (every segment is one MSS with the same header
// length), nothing lost (output() retransmits nothing), no FIN queued (send() has
// refused the data), no idle restart due, and a path cache output_cached would use
// as it is — the conditions are checked once, and each full segment that cwnd and
// the peer's window admit goes straight to the frame, with exactly what
// send_segment and transmit_data do for it. What is left after the full segments (a
// partial segment, Nagle, cork, a runt window) is transmit_data's, which decides it
// as its own loop would have; then output()'s tail. False, with nothing done, when
// not even one full segment can go this way: output() runs instead.
bool TcpLayer::send_fast(Tcb& t, Instant now) {
  if (t.state != TcpState::kEstablished || t.ecn_ok || t.path.tso_max != 0 || has_sack_blocks_to_send(t) ||
      t.rtx.lost_bytes() != 0 || t.fin_queued) {
    return false;
  }
  // transmit_data's idle restart (RFC 5681 §4.1) is left to it.
  if (t.rtx.empty() && t.last_tx_data != Instant{} && now - t.last_tx_data > t.rtt.rto()) return false;
  const uint32_t mss = t.mss;
  uint32_t unsent = unsent_bytes(t);
  if (unsent < mss) return false;
  const bool offload = ip_.tx_l4_checksum_offload();
  // send_frame_cached's conditions for every segment of the burst: not a SYN, no TSO,
  // no SACK blocks (above), a full segment along the path cache (it does not change
  // while sending).
  if (!ip_.cached_path_ready(t.path, wire::kIpv4HeaderLen + tcp::plain_header_len(t) + mss, offload, now)) {
    return false;
  }
  // As transmit_data: limited transmit (RFC 3042) outside recovery.
  const uint32_t extra = (!t.in_recovery && !t.in_loss) ? std::min<uint32_t>(t.dupacks, 2) * mss : 0;
  const uint32_t cwnd_limit = t.cc->cwnd() + extra;
  if (t.rtx.in_flight() >= cwnd_limit || send_window_left(t) < mss) return false;
  bool failed = false;
  bool any = false;
  do {
    const uint8_t flags = unsent == mss ? TcpFlags::kAck | TcpFlags::kPsh : TcpFlags::kAck;
    const SeqNum seq = t.snd_nxt;
    // send_segment for a full data segment of this connection.
    buf::Packet p = pool_.alloc(kPacketHeadroom);
    if (p.empty() || !append_payload(t, p, seq, mss)) {
      counters_.inc(TcpCounter::kDropNoBuffers);
      failed = true;
      break;
    }
    const uint32_t window = receive_window(t);
    const auto wire_window = static_cast<uint16_t>(std::min<uint32_t>(window >> t.rcv_wscale, 65535));
    t.rcv_adv = base::seq_max(t.rcv_adv, t.rcv_nxt + (uint32_t{wire_window} << t.rcv_wscale));
    t.last_ack_sent = t.rcv_nxt;
    if (!write_cached_frame(t, p, seq, flags, wire_window, mss, offload, std::nullopt, 0, now)) {
      counters_.inc(TcpCounter::kDropNoBuffers);
      failed = true;
      break;
    }
    counters_.inc(TcpCounter::kTxSegments);
    ++t.segs_out;
    t.bytes_sent += mss;
    t.ack_now = false;
    t.unacked_full_segments = 0;
    t.dsack_pending = false;
    t.delack_owed = false;
    // transmit_data's bookkeeping.
    t.snd_nxt = seq + mss;
    t.snd_max = base::seq_max(t.snd_max, t.snd_nxt);
    t.rtx.on_send(seq, t.snd_nxt, now);
    t.last_tx_data = now;
    unsent -= mss;
    any = true;
  } while (unsent >= mss && t.rtx.in_flight() < cwnd_limit && send_window_left(t) >= mss);
  if (unsent != 0 && !failed) any |= transmit_data(t, now);
  // transmit_data's end for what was sent here (after transmit_data's own, a second
  // call with the same state stores nothing new).
  const bool cwnd_full = t.rtx.in_flight() + mss > t.cc->cwnd();
  if (any || cwnd_full) cwnd_validate(t, cwnd_full);
  // output()'s tail: a segment sent carried any ACK owed.
  if (t.ack_now) send_ack(t, now);
  if (any && (t.rtx_mode == tcp::RtxTimerMode::kNone || t.rtx_mode == tcp::RtxTimerMode::kZeroWindowProbe)) {
    arm_rtx_timer(t, now);
  }
  expand_sndbuf(t);
  return true;
}

void TcpLayer::output(Tcb& t, Instant now) {
  switch (t.state) {
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
    case TcpState::kTimeWait:
      if (t.ack_now && t.state == TcpState::kTimeWait) send_ack(t, now);
      return;
    default: break;
  }
  bool sent = false;
  // Only a lost record is retransmitted: none without lost bytes (the common case).
  if (t.rtx.lost_bytes() != 0 && t.rtx.next_lost() != nullptr) sent |= retransmit_lost(t, now);
  sent |= transmit_data(t, now);
  if (t.ack_now) send_ack(t, now);
  if (sent && (t.rtx_mode == tcp::RtxTimerMode::kNone || t.rtx_mode == tcp::RtxTimerMode::kZeroWindowProbe)) {
    arm_rtx_timer(t, now);
  }
  expand_sndbuf(t);
}

void TcpLayer::grow_sndbuf(Tcb& t) {
  const size_t want = std::min(config_.sndbuf_max, t.snd.capacity() * 2);
  auto storage = buffers_.allocate(want);
  if (!storage.empty()) buffers_.release(t.snd.migrate(storage));
}

}  // namespace joyride::core
