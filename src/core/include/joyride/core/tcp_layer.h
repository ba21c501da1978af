// TCP (RFC 9293 with RFC 7323, 2018/2883, 5681/6582/6675, 6298, 8985, 9438/9406,
// 5961, 6528, 6056, 3168) for one stack instance. Where an RFC leaves a choice this
// does what Linux does; the comments in each file say which rule is whose.
//
// The socket calls mirror the POSIX ones and never block: connect() returns at once and
// the socket becomes writable (or gets an error) when the handshake ends; accept(),
// send() and recv() answer kWouldBlock. Readiness changes go to the stack's
// ReadinessQueue edge-triggered, as epoll's EPOLLET (notify() in tcp_layer.cc): an
// event when a bit appears or the state changes; the host acts until it would block.
//
// Files, one job each:
//   tcp_layer.cc      sockets, binding, the demux tables, close and the API calls
//   tcp_listen.cc     listeners: SYN queue, SYN cookies, accept queue
//   tcp_input.cc      a segment's arrival (RFC 9293 §3.10.7), ACK processing, loss detection
//   tcp_fast_path.cc  header prediction: the short path for in-order ESTABLISHED segments
//   tcp_recovery.cc   the window during and after recovery: PRR, undo, TLP episodes
//   tcp_receive.cc    in-order and out-of-order data, window and ACK decisions
//   tcp_output.cc     deciding what to send and building segments
//   tcp_timers.cc     retransmission, delayed ACK, probes, keepalive, TIME_WAIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "joyride/base/buffer_provider.h"
#include "joyride/base/counters.h"
#include "joyride/base/random.h"
#include "joyride/base/result.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/buf/packet.h"
#include "joyride/core/errors.h"
#include "joyride/core/icmpv4_layer.h"
#include "joyride/core/ipv4_layer.h"
#include "joyride/core/socket.h"
#include "joyride/core/socket_slab.h"
#include "joyride/core/tcp/host_table.h"
#include "joyride/core/tcp/tcb.h"
#include "joyride/core/tcp/tcp_types.h"
#include "joyride/wire/tcp.h"

namespace joyride::core {

// The ICMP errors TCP acts on (RFC 1122 §4.2.3.9; the cases of Linux's tcp_v4_err).
// Fragmentation needed goes to on_frag_needed instead.
enum class TcpIcmpError : uint8_t {
  kDestUnreachable,   // type 3, any other code: icmp_err_convert's errno
  kTimeExceeded,      // type 11, either code: EHOSTUNREACH
  kParameterProblem,  // type 12: EPROTO
};

class TcpLayer final {
 public:
  // One per stack instance. `table` is the host's (host_table.h), shared by every
  // instance's TcpLayer; the host's own instance is the one the IP layer feeds, and
  // it hands each segment to the instance owning its connection or listener.
  TcpLayer(const TcpConfig& config, tcp::HostTable& table, Ipv4Layer& ip, buf::PacketPool& pool,
           base::RandomSource& random, base::TimerWheel& timers, ReadinessQueue& ready,
           base::BufferProvider& buffers);
  ~TcpLayer();
  TcpLayer(const TcpLayer&) = delete;
  TcpLayer& operator=(const TcpLayer&) = delete;

  // ---- socket calls ---------------------------------------------------------------
  base::Result<SocketId, OpenError> open();
  base::Status<BindError> bind(SocketId s, Endpoint local);
  base::Status<ListenError> listen(SocketId s, int backlog);
  // The peer's endpoint goes to *peer when given.
  base::Result<SocketId, AcceptError> accept(SocketId listener, Endpoint* peer = nullptr);
  // As Linux's non-blocking connect() (__inet_stream_connect): a new attempt returns
  // at once (EINPROGRESS is the caller's to say); while it is under way, kAlreadyInProgress;
  // once it succeeded, the next call returns success and later ones kAlreadyConnected;
  // once it failed, the next call returns the pending error (kConnectionAborted if it
  // was read already) and leaves the socket unconnected, so the one after that starts
  // a new attempt. A listener, or an accepted socket, gets kAlreadyConnected.
  base::Status<ConnectError> connect(SocketId s, Endpoint remote, base::Instant now);
  base::Result<size_t, SendError> send(SocketId s, std::span<const uint8_t> data, base::Instant now);
  // 0 bytes: end of stream (the peer's FIN). kWouldBlock when nothing is readable yet.
  base::Result<size_t, RecvError> recv(SocketId s, std::span<uint8_t> out, base::Instant now);
  // shutdown(SHUT_WR) sends a FIN after the queued data; SHUT_RD discards further data.
  // As Linux's inet_shutdown: in SYN-SENT either direction abandons the attempt
  // without an RST, leaving ECONNRESET pending and the socket free to connect()
  // again; SHUT_RD stops a listener (which may then listen() or connect() again) and
  // SHUT_WR alone leaves it be. false: not a socket, or CLOSED (ENOTCONN).
  bool shutdown(SocketId s, bool read, bool write, base::Instant now);
  // close(): with unread data or SO_LINGER 0 the connection is reset (as Linux);
  // otherwise it finishes closing on its own (orphaned) and the handle is dead at once.
  void close(SocketId s, base::Instant now);
  // Every connection of this instance reset (RST to each synchronized peer) and
  // freed, the application's and the orphans alike: the end of an instance whose
  // owner is gone for good (and of the service).
  void reset_all(base::Instant now);

  // ---- options ------------------------------------------------------------------
  bool set_nodelay(SocketId s, bool on, base::Instant now);
  bool set_cork(SocketId s, bool on, base::Instant now);
  bool set_reuse_addr(SocketId s, bool on);
  bool set_congestion_control(SocketId s, std::string_view name);
  bool set_keepalive(SocketId s, bool on, base::Instant now);
  bool set_keepalive_params(SocketId s, base::Duration idle, base::Duration interval, uint32_t probes);
  bool set_user_timeout(SocketId s, base::Duration timeout);
  bool set_linger(SocketId s, bool on, base::Duration time);
  bool set_sndbuf(SocketId s, size_t bytes);
  bool set_rcvbuf(SocketId s, size_t bytes);
  // getsockopt(SO_ERROR): the pending error, else the soft error an ICMP message left
  // (Linux sk_err, then sk_err_soft), cleared as it is returned; nullopt when there is
  // none. kBadSocket for a handle that is not a socket.
  std::optional<RecvError> take_error(SocketId s);

  // ---- introspection ----------------------------------------------------------------
  uint32_t readiness(SocketId s);
  std::optional<TcpState> state(SocketId s);
  std::optional<TcpInfo> info(SocketId s);
  // state(), readiness() and the received bytes not yet read with one lookup (the service asks all
  // three for every socket it pumps); nullopt for a handle that is not a socket.
  struct Status {
    TcpState state;
    uint32_t readiness;
    size_t recv_queued;
  };
  std::optional<Status> status(SocketId s) {
    Tcb* t = tcb(s);
    if (t == nullptr) return std::nullopt;
    return Status{t->state, readiness_of(*t), t->rcv.size()};
  }
  std::optional<Endpoint> local_endpoint(SocketId s);
  std::optional<Endpoint> remote_endpoint(SocketId s);
  size_t connections() const { return sockets_.size(); }
  const base::CounterSet<TcpCounter>& counters() const { return counters_; }
  template <typename F>
  void for_each_connection(F&& f);  // f(SocketId, const TcpInfo&, const tcp::FourTuple&)

  // ---- from the IP layer ------------------------------------------------------------
  // `segment` may be taken (moved from); the caller frees what is left.
  void input(const Ipv4RxContext& ctx, buf::Packet& segment, base::Instant now);
  // An ICMP error quoting a segment of ours (`seq`: its sequence number; `code`: the
  // message's), as Linux's tcp_v4_err handles it.
  void on_icmp_error(wire::Ipv4Address src, uint16_t sport, wire::Ipv4Address dst, uint16_t dport, base::SeqNum seq,
                     TcpIcmpError kind, uint8_t code, base::Instant now);
  // Fragmentation needed (RFC 1191) quoting a segment of ours from src:sport to
  // dst:dport with sequence number `seq`, next-hop MTU `mtu` (>= 68). Believed only
  // for a segment the connection has in flight (RFC 5927): then the destination's
  // path MTU is lowered and the connection's MSS follows it.
  void on_frag_needed(wire::Ipv4Address src, uint16_t sport, wire::Ipv4Address dst, uint16_t dport,
                      base::SeqNum seq, uint16_t mtu, base::Instant now);

  // Internal: the files of the TCP implementation share these.
  struct Rx;  // a parsed segment
  tcp::Tcb* tcb(SocketId s);
  void output(tcp::Tcb& t, base::Instant now);

 private:
  friend struct TcpTimers;
  using Tcb = tcp::Tcb;

  // tcp_layer.cc
  std::unique_ptr<Tcb> make_tcb();
  base::Result<SocketId, OpenError> new_tcb();
  // Linux tcp_disconnect after a failed connect() was reported: the socket starts
  // over as if just opened, keeping its options and what bind() fixed. Returns it;
  // the caller tells the host (notify).
  Tcb& reopen(Tcb& t);
  // Linux tcp_disconnect from shutdown(): a connecting socket (SYN-SENT, no RST) or
  // a listener (its children reset) becomes a CLOSED, unconnected socket with
  // `error` pending. Returns it (reopen).
  Tcb& disconnect(Tcb& t, std::optional<RecvError> error, base::Instant now);
  // Gives back a port the application did not bind() itself (Linux inet_put_port
  // when the connection reaches CLOSE).
  void release_port(Tcb& t);
  // Takes it out of the host's port table.
  void unbind_port(Tcb& t);
  // Linux tcp_twsk_unique: whether connect() may take over `old`, a TIME_WAIT
  // connection on the 4-tuple it wants; `ephemeral`: the port is connect()'s choice.
  bool time_wait_reusable(const Tcb& old, bool ephemeral, base::Instant now) const;
  void free_tcb(Tcb& t);
  // Whether another socket holds the port (`except`, `except_too`: sockets not to count).
  bool port_in_use(wire::Ipv4Address addr, uint16_t port, const Tcb* except, bool reuse,
                   const Tcb* except_too = nullptr) const;
  void hash_insert(Tcb& t);
  void hash_remove(Tcb& t);
  // Consecutive segments are mostly one flow's (a burst from the device, an ACK after
  // data): the last match is remembered and checked inline. Any change to the table
  // forgets it (hash_remove, and the inserts that could shadow it).
  Tcb* lookup(const tcp::FourTuple& t) {
    if (table_.last_lookup != nullptr && table_.last_lookup->tuple == t) return table_.last_lookup;
    return lookup_table(t);
  }
  Tcb* lookup_table(const tcp::FourTuple& t);
  Tcb* lookup_listener(wire::Ipv4Address addr, uint16_t port);
  void set_state(Tcb& t, TcpState s, base::Instant now);
  // Tells the host of a readiness edge (tcp_layer.cc); `always` queues an event even
  // when no bit appeared: a state change, which the host may be watching through state().
  // Inline up to the readiness compare (nearly every call on the data path is a
  // segment into an empty ring or a read that empties it); notify_changed queues or
  // refreshes the event.
  void notify(Tcb& t, bool always = false) {
    if (!t.user_visible || t.orphan) return;
    const uint32_t r = readiness_of(t);
    if (r == t.reported && !always) return;
    notify_changed(t, r, always);
  }
  void notify_changed(Tcb& t, uint32_t r, bool always);
  // Inline for the data path's case (ESTABLISHED, nothing but the rings to look at);
  // readiness_slow has the rest.
  static uint32_t readiness_of(const Tcb& t) {
    if (t.state == TcpState::kEstablished && !t.pending_error && !t.fin_received && !t.rd_shutdown && !t.fin_queued) {
      return (t.rcv.empty() ? 0u : uint32_t{kReadable}) | (send_space(t) ? uint32_t{kWritable} : 0u);
    }
    return readiness_slow(t);
  }
  static uint32_t readiness_slow(const Tcb& t);
  // Linux signals POLLOUT when a third of the send buffer is free (sk_stream_wspace).
  static bool send_space(const Tcb& t) { return t.snd.free() >= std::max<size_t>(1, t.snd.capacity() / 3); }
  // Both rings, or neither: false (and nothing kept) when the provider refuses either.
  bool init_buffers(Tcb& t);
  void set_mss_from_route(Tcb& t, base::Instant now);
  void lower_mss_to_path(Tcb& t, base::Instant now);
  void connection_done(Tcb& t, base::Instant now);  // CLOSED: free it if nobody holds it
  void abort(Tcb& t, std::optional<RecvError> error, bool send_rst, base::Instant now);

  // tcp_listen.cc
  void listen_input(Tcb& listener, const Rx& rx, buf::Packet& payload, base::Instant now);
  // tw_isn: the SYN reopened a TIME_WAIT connection, and the new one starts there
  // (Linux tcp_timewait_state_process) rather than at a fresh RFC 6528 ISN.
  void syn_to_listener(Tcb& listener, const Rx& rx, base::Instant now, std::optional<uint32_t> tw_isn = std::nullopt);
  void cookie_ack(Tcb& listener, const Rx& rx, buf::Packet& payload, base::Instant now);
  void inherit_from_listener(Tcb& child, const Tcb& listener, const tcp::FourTuple& tuple);
  void child_established(Tcb& child, base::Instant now);
  void child_gone(Tcb& child);

  // tcp_input.cc
  // A parsed segment for `t`, one of this instance's connections (input() found it in
  // the host table, whichever instance's TcpLayer that input() ran on).
  void deliver(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  void segment_arrives(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  void syn_sent_input(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  void time_wait_input(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  bool acceptable(const Tcb& t, const Rx& rx) const;
  // True when the ACK answering `rx` (out of window, PAWS-rejected, stray in TIME_WAIT)
  // must be skipped: Linux tcp_oow_rate_limited, counted as `skipped` (tcp_input.cc).
  bool oow_ack_limited(Tcb& t, const Rx& rx, TcpCounter skipped, base::Instant now);
  bool paws_reject(Tcb& t, const Rx& rx, base::Instant now) const;
  void process_ack(Tcb& t, const Rx& rx, base::Instant now);
  void update_window(Tcb& t, const Rx& rx);
  void detect_loss(Tcb& t, base::Instant now);
  uint32_t rack_detect(Tcb& t, base::Instant now);
  void challenge_ack(Tcb& t, base::Instant now);
  void reset_received(Tcb& t, base::Instant now);  // an acceptable RST, past SYN-SENT
  void apply_syn_options(Tcb& t, const Rx& rx);
  void send_reset_for(const Rx& rx);

  // tcp_fast_path.cc
  bool fast_path(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  // Whether a predicted pure ACK may take fast_ack instead of process_ack: nothing for
  // the recovery, undo, TLP, ECN or FIN parts of process_ack to do, and a scoreboard
  // without SACKed, lost or retransmitted records.
  static bool plain_ack(const Tcb& t) {
    return !t.in_recovery && !t.in_loss && !t.in_cwr && !t.tlp_in_flight && !t.undo.active && !t.fin_sent &&
           !t.rtx.empty() && t.rtx.sacked_segments() == 0 && t.rtx.lost_bytes() == 0 && t.rtx.retrans_bytes() == 0;
  }
  void fast_ack(Tcb& t, const Rx& rx, base::Instant now);
  // What every ACK that moves snd_una does, in process_ack and fast_ack alike: free the
  // acknowledged send data, end the backoff, take the RTT sample (tcp_internal.h).
  void advance_una(Tcb& t, const Rx& rx, const tcp::AckResult& r, base::Instant now);

  // tcp_recovery.cc
  void enter_recovery(Tcb& t, base::Instant now);
  void prr_on_ack(Tcb& t, uint32_t delivered, bool advanced, bool newly_lost);
  void start_undo(Tcb& t, base::Instant now);
  void dsack_for_undo(Tcb& t, const wire::SackBlock& dsack, base::SeqNum prior_una, bool retransmitted);
  bool try_undo(Tcb& t, const Rx& rx, bool dsack, bool advanced);
  bool ack_predates_retransmit(const Tcb& t, const Rx& rx) const;
  void process_tlp_ack(Tcb& t, const Rx& rx, const tcp::AckResult& r, bool advanced, bool pure_dupack,
                       base::Instant now);

  // tcp_receive.cc
  void receive_data(Tcb& t, const Rx& rx, buf::Packet& payload, base::Instant now);
  void receive_fin(Tcb& t, base::Instant now);
  void receive_in_order(Tcb& t, buf::Packet& payload, base::Instant now);
  // The window to advertise (tcp_receive.cc's rules; inline: every segment sent).
  uint32_t receive_window(const Tcb& t) const {
    const uint32_t current = static_cast<uint32_t>(std::max<int32_t>(0, t.rcv_adv - t.rcv_nxt));
    if (t.state == TcpState::kSynSent || t.rcv.capacity() == 0) return current;
    const uint32_t granule = 1u << t.rcv_wscale;
    uint32_t free = static_cast<uint32_t>(std::min<size_t>(t.rcv.free(), size_t{65535} << t.rcv_wscale));
    free &= ~(granule - 1);
    const base::SeqNum right = t.rcv_nxt + free;
    if (right <= t.rcv_adv) return current;  // never shrink the window (RFC 9293 §3.8.6)
    // Receiver SWS avoidance: move the right edge only by a worthwhile amount.
    const uint32_t step = std::min<uint32_t>(static_cast<uint32_t>(t.rcv.capacity() / 2), t.adv_mss);
    if (static_cast<uint32_t>(right - t.rcv_adv) < step) return current;
    return free;
  }
  void maybe_window_update(Tcb& t, base::Instant now);
  void schedule_ack(Tcb& t, bool full_segment, base::Instant now);
  void autotune_rcvbuf(Tcb& t, base::Instant now);

  // tcp_output.cc
  bool transmit_data(Tcb& t, base::Instant now);
  // send()'s short path: output() for a plain ESTABLISHED connection (no ECN, TSO,
  // SACK blocks to send, lost data or FIN) with full segments to send along a current
  // path cache; false, with nothing done, when output() must run instead.
  bool send_fast(Tcb& t, base::Instant now);
  // The payload of [seq, seq + len) from the send ring into `p`, summed unless the
  // device does it (offload); false when the pool runs dry.
  bool append_payload(Tcb& t, buf::Packet& p, base::SeqNum seq, uint32_t len);
  // output()'s last step: the send buffer grows with the congestion window (Linux
  // tcp_sndbuf_expand) so a long fat path is not limited by a small default. Inline:
  // it runs on every send and ACK of a bulk sender, and rarely grows.
  void expand_sndbuf(Tcb& t) {
    if (t.sndbuf_limit == 0 && size_t{t.cc->cwnd()} * 2 > t.snd.capacity() && t.snd.capacity() < config_.sndbuf_max) {
      grow_sndbuf(t);
    }
  }
  void grow_sndbuf(Tcb& t);  // to twice its size, at most config_.sndbuf_max
  // tso_segsz != 0: `len` is several wire segments of that size, cut by the device (TSO).
  bool send_segment(Tcb& t, base::SeqNum seq, uint32_t len, uint8_t flags, base::Instant now, bool retransmit = false,
                    uint16_t tso_segsz = 0);
  // TSO along the connection's cached path, if its device does it: the segment size
  // the device is to cut (at most `mss`) and the most payload one frame may carry (a
  // multiple of it). {0, 0} when frames must be single segments.
  struct TsoPlan {
    uint32_t segment = 0;
    uint32_t frame_max = 0;
  };
  TsoPlan tso_plan(const Tcb& t, uint32_t mss, base::Instant now) const;
  // offload: leave the checksum to the device (buf::kTxL4ChecksumPartial); payload_sum
  // is then unused.
  bool emit_header(Tcb& t, buf::Packet& p, base::SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                   bool offload, uint32_t payload_sum, base::Instant now);
  // The whole frame of an ordinary segment along a current path cache, sent; false
  // (p untouched) when the segment needs emit_header + output_cached.
  bool send_frame_cached(Tcb& t, buf::Packet& p, base::SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                         bool offload, uint32_t payload_sum, uint8_t tos, uint16_t tso_segsz, base::Instant now);
  bool write_cached_frame(Tcb& t, buf::Packet& p, base::SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                          bool offload, std::optional<uint32_t> payload_sum, uint8_t tos, base::Instant now);
  bool emit_syn_header(Tcb& t, buf::Packet& p, base::SeqNum seq, uint8_t flags, uint16_t window, uint32_t len,
                       uint32_t payload_sum, base::Instant now);
  void send_ack(Tcb& t, base::Instant now);
  void send_syn(Tcb& t, base::Instant now);
  void send_rst(Tcb& t, base::Instant now);
  void send_raw(const tcp::FourTuple& tuple, base::SeqNum seq, base::SeqNum ack, uint8_t flags, uint16_t window,
                const wire::TcpOptions& options);
  bool retransmit_lost(Tcb& t, base::Instant now);
  uint32_t tsval(const Tcb& t, base::Instant now) const;
  // The small helpers below run several times per segment sent: inline, with the
  // cases of a connection that has no SACK blocks to send out of line.
  uint32_t send_window_left(const Tcb& t) const {
    const int32_t left = (t.snd_una + t.snd_wnd) - t.snd_nxt;
    return left > 0 ? static_cast<uint32_t>(left) : 0;
  }
  static bool has_sack_blocks_to_send(const Tcb& t) { return t.sack_ok && (t.dsack_pending || !t.ooo.empty()); }
  uint32_t current_mss(const Tcb& t) const { return has_sack_blocks_to_send(t) ? current_mss_with_sack(t) : t.mss; }
  uint32_t current_mss_with_sack(const Tcb& t) const;
  // The SACK blocks a post-handshake segment carries now (D-SACK first), as many as fit.
  size_t sack_blocks_to_send(const Tcb& t, std::span<wire::SackBlock, 4> out) const {
    return has_sack_blocks_to_send(t) ? sack_blocks(t, out) : 0;
  }
  size_t sack_blocks(const Tcb& t, std::span<wire::SackBlock, 4> out) const;
  // Bytes in the send buffer not sent yet.
  static uint32_t unsent_bytes(const Tcb& t) {
    const int32_t sent = t.snd_nxt - t.snd_buf_seq;
    const size_t held = t.snd.size();
    return sent <= 0 ? static_cast<uint32_t>(held) : static_cast<uint32_t>(held - std::min<size_t>(held, sent));
  }

  // Congestion window validation (RFC 7661 §4.1, as Linux's tcp_cwnd_validate and
  // tcp_is_cwnd_limited): after a transmit attempt, record whether cwnd held it back;
  // an ACK grows cwnd only while it did (or, in slow start, while cwnd is under twice
  // the most the window has had in flight).
  static void cwnd_validate(Tcb& t, bool limited) {
    const uint32_t inflight = t.rtx.in_flight();
    if (!(t.snd_una < t.cwnd_usage_seq) || limited || inflight > t.max_inflight) {
      t.max_inflight = inflight;
      t.cwnd_usage_seq = t.snd_nxt;
      t.cwnd_limited = limited;
    }
  }
  static bool cwnd_is_limited(const Tcb& t) {
    if (t.cwnd_limited) return true;
    return t.cc->in_slow_start() && t.cc->cwnd() < 2 * uint64_t{t.max_inflight};
  }

  // tcp_timers.cc
  void arm_rtx_timer(Tcb& t, base::Instant now);
  // The retransmission timer's job is rtx_mode, due at rtx_due; rtx_mode == kNone
  // means it is stopped (the wheel timer may still fire, into nothing).
  void arm_timer(Tcb& t, tcp::RtxTimerMode mode, base::Instant deadline);
  // Stops it without touching the wheel: all data acknowledged, which on a bulk
  // transfer happens on every ACK and is undone by the next send (see tcb.h rtx_due).
  static void stop_rtx_timer(Tcb& t) { t.rtx_mode = tcp::RtxTimerMode::kNone; }
  void on_rtx_timer(Tcb& t, base::Instant now);
  void on_retransmit_timeout(Tcb& t, base::Instant now);
  void on_tail_loss_probe(Tcb& t, base::Instant now);
  void on_zero_window_probe(Tcb& t, base::Instant now);
  void on_delack_timer(Tcb& t, base::Instant now);
  void on_keepalive_timer(Tcb& t, base::Instant now);
  // Gives a ring's storage back to the host now (TIME-WAIT: the send ring at once, the
  // receive ring once nobody can read it), leaving the ring empty.
  void release_ring(base::ByteRing& ring);
  void on_wait_timer(Tcb& t, base::Instant now);
  void arm_keepalive(Tcb& t, base::Instant now);
  void enter_time_wait(Tcb& t, base::Instant now);
  bool retries_exhausted(Tcb& t, base::Instant now) const;
  // The error a timeout ends the connection with: ETIMEDOUT, or the soft error an
  // ICMP message left (Linux tcp_write_err).
  static RecvError timeout_error(const Tcb& t) { return t.soft_error.value_or(RecvError::kTimedOut); }
  void revert_rto_backoff(Tcb& t, base::SeqNum seq, base::Instant now);
  uint32_t orphan_retries(bool alive) const;

  const TcpConfig config_;
  Ipv4Layer& ip_;
  buf::PacketPool& pool_;
  base::RandomSource& random_;
  base::TimerWheel& timers_;
  ReadinessQueue& ready_;
  base::BufferProvider& buffers_;
  tcp::HostTable& table_;
  SocketSlab<std::unique_ptr<Tcb>> sockets_;
  base::CounterSet<TcpCounter> counters_;
  // RFC 5961 §7 challenge ACK budget (per second, for the whole instance as Linux's).
  uint32_t challenge_acks_left_ = 0;
  base::Instant challenge_window_start_;
  bool destroying_ = false;
};

template <typename F>
void TcpLayer::for_each_connection(F&& f) {
  sockets_.for_each([&](SocketId id, std::unique_ptr<Tcb>& t) {
    if (auto i = info(id)) f(id, *i, t->tuple);
  });
}

}  // namespace joyride::core
