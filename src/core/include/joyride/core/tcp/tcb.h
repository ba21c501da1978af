// The transmission control block: everything one TCP connection (or listener)
// remembers, RFC 9293 §3.3.1's variables plus what the later RFCs add. TcpLayer's
// files (tcp_input.cc, tcp_output.cc, tcp_timers.cc, ...) operate on it; it has no
// behaviour of its own so the rules stay in one place per job.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "joyride/base/byte_ring.h"
#include "joyride/base/seq.h"
#include "joyride/base/time.h"
#include "joyride/base/timer_wheel.h"
#include "joyride/core/errors.h"
#include "joyride/core/ipv4_path_cache.h"
#include "joyride/core/socket.h"
#include "joyride/core/tcp/congestion_control.h"
#include "joyride/core/tcp/isn.h"
#include "joyride/core/tcp/ooo_queue.h"
#include "joyride/core/tcp/retransmit_queue.h"
#include "joyride/core/tcp/rtt_estimator.h"
#include "joyride/core/tcp/tcp_types.h"

namespace joyride::core {

class TcpLayer;

namespace tcp {

using base::SeqNum;

// What connect() has made of a socket, as Linux's sock->state (SS_UNCONNECTED,
// SS_CONNECTING, SS_CONNECTED): __inet_stream_connect answers a repeated connect() by
// it together with the TCP state (TcpLayer::connect).
enum class ConnectCall : uint8_t { kUnconnected, kConnecting, kConnected };

// What the retransmission timer is currently timing (one timer, as Linux's icsk timer).
enum class RtxTimerMode : uint8_t { kNone, kRetransmit, kTailLossProbe, kZeroWindowProbe, kSynAck };

struct Tcb {
  Tcb(TcpLayer* owner, size_t ooo_bytes, size_t ooo_segments);
  Tcb(const Tcb&) = delete;
  Tcb& operator=(const Tcb&) = delete;

  TcpLayer* layer;
  SocketId id;
  TcpState state = TcpState::kClosed;
  FourTuple tuple{};
  Ipv4PathCache path;        // the resolved route and headers for this tuple
  bool bound = false;        // local address/port chosen (bind() or connect())
  bool in_table = false;     // in the 4-tuple demux table
  bool reuse_addr = false;
  // bind() fixed the port / the address (Linux SOCK_BINDPORT_LOCK / SOCK_BINDADDR_LOCK):
  // a socket reopened after a failed connect keeps them; otherwise the port
  // connect() chose is let go and chosen again.
  bool port_locked = false;
  bool addr_locked = false;
  ConnectCall connect_call = ConnectCall::kUnconnected;
  bool orphan = false;       // the application closed it; it lives on to finish closing
  bool user_visible = true;  // false for a child not yet accepted
  // The readiness bits the host was last told of (TcpLayer::notify): an event is
  // queued only when a bit is set that was not (an edge), as epoll's EPOLLET.
  uint32_t reported = 0;

  // ---- listener --------------------------------------------------------------------
  // listen()'s backlog as Linux's sk_max_ack_backlog: the queues are full when they
  // hold MORE than this (listen(fd, 0) lets one connection wait).
  uint32_t backlog = 0;
  std::deque<SocketId> accept_queue;  // established children awaiting accept()
  uint32_t syn_queue = 0;             // children in SYN-RECEIVED
  SocketId parent;                    // for a child: its listener

  // ---- send sequence space (RFC 9293 §3.3.1) ------------------------------------------
  SeqNum iss, snd_una, snd_nxt, snd_max;  // snd_max: highest sequence sent + 1
  SeqNum snd_wl1, snd_wl2;
  uint32_t snd_wnd = 0;       // the peer's window, scaled
  uint32_t max_snd_wnd = 0;
  SeqNum snd_up;              // urgent (accepted on receive only)
  // ---- receive sequence space ---------------------------------------------------------
  SeqNum irs, rcv_nxt;
  SeqNum rcv_adv;             // right edge of the window we last advertised (never shrinks)

  // ---- options ----------------------------------------------------------------------
  bool wscale_ok = false, sack_ok = false, ts_ok = false, ecn_ok = false;
  uint8_t snd_wscale = 0;     // shift for the peer's windows
  uint8_t rcv_wscale = 0;     // shift for ours
  uint32_t ts_recent = 0;     // RFC 7323 TS.Recent
  base::Instant ts_recent_at; // when ts_recent was stored (PAWS 24-day rule)
  uint32_t ts_offset = 0;     // added to our clock in TSval (hides uptime, Linux tsoffset)
  SeqNum last_ack_sent;       // RFC 7323 Last.ACK.sent
  uint16_t peer_mss = 536;    // from the SYN (RFC 9293: 536 when absent)
  uint16_t adv_mss = 1460;    // what we advertised
  uint16_t mss = 536;         // payload per full-sized segment we send (options excluded)
  uint16_t rcv_mss = 536;     // estimate of the peer's segment size (delayed-ACK rule)

  // ---- data -------------------------------------------------------------------------
  base::ByteRing snd;         // bytes from snd_buf_seq: unacknowledged, then unsent
  SeqNum snd_buf_seq;         // sequence number of snd's first byte
  base::ByteRing rcv;         // in-order bytes the application has not read
  tcp::OutOfOrderQueue ooo;
  bool fin_queued = false;    // shutdown(SHUT_WR)/close(): a FIN follows the queued data
  bool fin_sent = false;
  SeqNum fin_seq;             // sequence number our FIN occupies (valid when fin_sent)
  // close() in an active open's SYN-RECEIVED sent the FIN at once (FIN-WAIT-1) before
  // the peer acknowledged our SYN: SND.UNA is still ISS, the retransmission timer
  // resends the SYN-ACK, and the first ACK of the SYN does the handshake's bookkeeping
  // (tcp_input.cc). Cleared by that ACK.
  bool syn_unacked = false;
  bool fin_received = false;  // the peer's FIN is in sequence (EOF after rcv drains)
  std::optional<SeqNum> ooo_fin;  // a FIN that arrived ahead of a gap: its sequence number
  bool rd_shutdown = false;

  // ---- loss recovery and congestion control ------------------------------------------
  tcp::RetransmitQueue rtx;
  tcp::RttEstimator rtt;
  std::unique_ptr<tcp::CongestionControl> cc;
  bool in_recovery = false;   // fast recovery (RFC 6675 / 6582)
  bool in_loss = false;       // after an RTO, until snd_una passes recovery_point
  SeqNum recovery_point;
  uint32_t dupacks = 0;
  uint32_t rto_count = 0;     // consecutive timeouts (tcpi_retransmits)
  // Whether cwnd, not the peer's window or the application, limits sending (RFC 7661
  // §4.1; Linux tcp_cwnd_validate): cwnd grows only while it does, so a sender held by
  // rwnd for a long transfer does not build a window it has never used and then burst
  // it all when rwnd opens. Judged over one window of data: from the send that set it
  // until snd_una passes cwnd_usage_seq.
  bool cwnd_limited = false;
  uint32_t max_inflight = 0;  // most bytes in flight seen in that window
  SeqNum cwnd_usage_seq;      // snd_nxt when the window was opened
  // TLP episode (RFC 8985 §7.4, Linux tlp_high_seq/tlp_retrans): open from a probe
  // until an ACK tells whether it repaired a loss (then one window reduction) or was
  // spurious; no second probe while it is open.
  bool tlp_in_flight = false;
  SeqNum tlp_high_seq;         // TLP.end_seq: SND.NXT when the probe went
  bool tlp_retrans = false;    // the probe was a retransmission of [tlp_probe_begin, tlp_probe_end)
  SeqNum tlp_probe_begin, tlp_probe_end;
  // PRR (RFC 6937) during fast recovery: bytes delivered and sent since it began.
  uint32_t prr_delivered = 0;
  uint64_t prr_sent_base = 0;  // bytes_sent when recovery began (prr_out = bytes_sent - this)
  uint32_t recover_fs = 0;     // RecoverFS: snd_max - snd_una when recovery began
  bool in_cwr = false;         // after an ECE reduction, until snd_una passes ecn_recover (Linux TCP_CA_CWR)
  // Undo of a spurious reduction (Linux undo_marker/undo_retrans/prior_cwnd, RFC 3522
  // Eifel): from the start of a fast recovery or timeout episode until the next one.
  struct Undo {
    bool active = false;
    SeqNum marker;              // snd_una when the episode began
    uint64_t retrans_base = 0;  // total_retrans at the start, less retransmissions then in flight
    uint32_t dsacked = 0;       // segments of the episode the peer reported twice (D-SACK)
    uint32_t prior_cwnd = 0, prior_ssthresh = 0;
    base::Instant first_retrans_at;  // the episode's first retransmission (Eifel)
  } undo;

  // ---- acknowledgement ----------------------------------------------------------------
  uint32_t unacked_full_segments = 0;  // received since our last ACK
  bool ack_now = false;                // send an ACK at the next output
  bool dsack_pending = false;
  wire::SackBlock dsack_block{};
  base::Instant last_rx;               // for keepalive and delayed ACK quick mode
  base::Instant last_tx_data;          // idle restart (RFC 5681 §4.1)
  base::Instant syn_sent_at;           // RTT sample from the handshake
  base::Instant handshake_started_at;  // the first SYN or SYN-ACK: TCP_USER_TIMEOUT counts from it
  bool ece_pending = false;            // ECN: echo ECE until the peer sends CWR (RFC 3168 §6.1.3)
  bool cwr_pending = false;            // ECN: set CWR on the next data segment
  SeqNum ecn_recover;                  // ECN: react to ECE at most once per window

  // ---- timers -------------------------------------------------------------------------
  base::Timer rtx_timer;       // RTO, TLP, zero-window probe, SYN/SYN-ACK retransmission
  base::Timer delack_timer;
  // A delayed ACK is owed, due at delack_due. Sending any ACK clears it without
  // cancelling the timer, which fires into nothing or, if a new ACK became owed
  // meanwhile, moves itself on to delack_due (as rtx_due: a receiver owes one and
  // pays it on every second segment, and the wheel need not hear of each).
  bool delack_owed = false;
  base::Instant delack_due;
  base::Timer keepalive_timer;
  base::Timer wait_timer;      // TIME_WAIT, FIN_WAIT_2 of an orphan, RACK reorder
  base::Instant time_wait_at;  // when TIME_WAIT began (Linux tw_entry_stamp, for tcp_tw_reuse)
  // The last rate-limited ACK sent for a segment that could be half of an ACK loop
  // (out of window, PAWS-rejected, or stray in TIME_WAIT), if any: Linux
  // last_oow_ack_time (tw_last_oow_ack_time in TIME_WAIT, reset on entering it).
  bool oow_acked = false;
  base::Instant oow_ack_at;
  RtxTimerMode rtx_mode = RtxTimerMode::kNone;
  // When rtx_mode's job is due. The wheel timer may be set earlier: an advancing ACK
  // restarts the RTO (RFC 6298 §5.3) on every segment, and re-arming the wheel each
  // time is most of the cost, so a later deadline is only recorded here and the
  // timer, when it fires early, moves itself to it (TcpLayer::arm_timer).
  base::Instant rtx_due;
  uint32_t probes = 0;         // zero-window or keepalive probes without answer
  base::Instant probes_started;  // first zero-window probe of this stall (Linux icsk_probes_tstamp)

  // ---- socket options -----------------------------------------------------------------
  bool nodelay = false;
  bool cork = false;
  bool keepalive = false;
  base::Duration keepalive_idle, keepalive_interval;
  uint32_t keepalive_probes = 9;
  base::Duration user_timeout;  // zero: off
  bool linger = false;
  base::Duration linger_time;
  size_t sndbuf_limit = 0, rcvbuf_limit = 0;  // bounds set by the application (0: auto-tune)

  // ---- errors and statistics ----------------------------------------------------------
  std::optional<RecvError> pending_error;  // ECONNRESET, ETIMEDOUT, ECONNREFUSED, EPIPE, an ICMP error
  // An ICMP error on a synchronized connection (Linux sk_err_soft): not reported by
  // itself, but in place of ETIMEDOUT if the connection times out (tcp_write_err);
  // any acceptable ACK clears it (tcp_ack).
  std::optional<RecvError> soft_error;
  bool reset = false;                      // the connection was reset (sends fail with EPIPE/ECONNRESET)
  uint64_t bytes_acked = 0, bytes_received = 0, bytes_sent = 0, bytes_retrans = 0;
  uint64_t segs_in = 0, segs_out = 0, total_retrans = 0, delivered = 0;
  // receive-buffer auto-tuning (Linux's DRS): bytes the application read this RTT
  uint64_t rcv_space_copied = 0;
  base::Instant rcv_space_at;
  SeqNum rcv_space_seq;
};

}  // namespace tcp
}  // namespace joyride::core
