// Public TCP types of a stack instance: configuration (Linux's sysctl defaults), the
// eleven RFC 9293 states, per-connection information as TCP_INFO carries it, and
// the layer's counters.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "joyride/base/time.h"

namespace joyride::core {

struct TcpConfig {
  size_t max_sockets = 200000;
  // Socket buffers in bytes: initial size and the bounds auto-tuning works within
  // (Linux net.ipv4.tcp_rmem / tcp_wmem: min, default, max).
  size_t rcvbuf_min = 4096;
  size_t rcvbuf_default = 131072;
  size_t rcvbuf_max = 6 * 1024 * 1024;
  size_t sndbuf_min = 4096;
  size_t sndbuf_default = 16384 * 4;
  size_t sndbuf_max = 4 * 1024 * 1024;
  // Out-of-order data held per connection, as a share of the receive buffer's bytes
  // and as a segment count (a peer sending 1-byte segments must not pin packets).
  size_t ooo_max_segments = 1024;
  uint16_t ephemeral_low = 32768;  // net.ipv4.ip_local_port_range
  uint16_t ephemeral_high = 60999;
  uint32_t max_syn_backlog = 4096;  // net.ipv4.tcp_max_syn_backlog
  uint32_t somaxconn = 4096;        // net.core.somaxconn caps listen()'s backlog
  bool syncookies = true;           // net.ipv4.tcp_syncookies = 1: when the SYN queue is full
  uint32_t syn_retries = 6;         // net.ipv4.tcp_syn_retries
  uint32_t synack_retries = 5;      // net.ipv4.tcp_synack_retries
  uint32_t retries2 = 15;           // net.ipv4.tcp_retries2
  uint32_t orphan_retries = 8;      // net.ipv4.tcp_orphan_retries (0 means 8 in Linux)
  base::Duration time_wait = base::Duration::seconds(60);   // TCP_TIMEWAIT_LEN
  // net.ipv4.tcp_tw_reuse: whether connect() choosing an ephemeral port may take over
  // a 4-tuple in TIME_WAIT (if the old connection had timestamps, and more than a
  // second after TIME_WAIT began, tcp_tw_reuse_delay's default): 0 never, 1 always,
  // 2 (Linux's default) only for loopback addresses.
  // A port the application bound itself takes it over whatever this says (as Linux).
  uint8_t tw_reuse = 2;
  base::Duration fin_timeout = base::Duration::seconds(60); // net.ipv4.tcp_fin_timeout
  base::Duration initial_rto = base::Duration::seconds(1);  // RFC 6298 §2.1, TCP_TIMEOUT_INIT
  base::Duration min_rto = base::Duration::millis(200);     // TCP_RTO_MIN
  base::Duration max_rto = base::Duration::seconds(120);    // TCP_RTO_MAX
  base::Duration delayed_ack_max = base::Duration::millis(40);  // TCP_DELACK_MAX
  base::Duration delayed_ack_min = base::Duration::millis(40);  // TCP_DELACK_MIN (Linux: 40 ms)
  base::Duration keepalive_idle = base::Duration::seconds(7200);
  base::Duration keepalive_interval = base::Duration::seconds(75);
  uint32_t keepalive_probes = 9;
  uint32_t challenge_ack_limit = 1000;  // per second (net.ipv4.tcp_challenge_ack_limit)
  // net.ipv4.tcp_invalid_ratelimit: a connection answers an out-of-window or
  // PAWS-rejected segment that occupies no sequence space (or, in TIME_WAIT, a SYN) at
  // most once per this long (Linux tcp_oow_rate_limited).
  base::Duration invalid_ratelimit = base::Duration::millis(500);
  bool timestamps = true;
  bool window_scaling = true;
  bool sack = true;
  bool ecn = true;  // net.ipv4.tcp_ecn = 2: accept ECN when the peer asks, never ask
  // Header prediction (tcp_fast_path.cc). Only a test turns it off, to show that the
  // general path gives the same result.
  bool header_prediction = true;
  // send()'s short path for full segments (TcpLayer::send_fast, tcp_output.cc). Only
  // a test turns it off, to show that output() gives the same result.
  bool send_fast_path = true;
  std::string_view congestion_control = "cubic";
};

// RFC 9293 §3.3.2.
enum class TcpState : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
std::string_view to_string(TcpState s);

// What getsockopt(TCP_INFO) reports (struct tcp_info's useful subset), in bytes and
// durations rather than Linux's mixed units.
struct TcpInfo {
  TcpState state = TcpState::kClosed;
  base::Duration rtt;     // smoothed
  base::Duration rttvar;
  base::Duration rto;
  base::Duration min_rtt;
  uint32_t snd_mss = 0;
  uint32_t rcv_mss = 0;
  uint32_t cwnd = 0;      // bytes
  uint32_t ssthresh = 0;  // bytes; UINT32_MAX before the first loss
  uint32_t snd_wnd = 0;   // the peer's window, scaled
  uint32_t rcv_wnd = 0;   // what we advertise, scaled
  uint8_t snd_wscale = 0;
  uint8_t rcv_wscale = 0;
  bool timestamps = false;
  bool sack = false;
  bool ecn = false;
  uint32_t retransmits = 0;     // consecutive RTOs of the current episode (tcpi_retransmits)
  uint64_t total_retrans = 0;   // segments retransmitted over the lifetime
  uint32_t unacked = 0;         // bytes sent, not yet acknowledged
  uint32_t lost = 0;            // bytes currently deemed lost
  uint32_t sacked = 0;          // bytes currently SACKed
  uint64_t delivered = 0;       // segments delivered (acked or sacked)
  uint64_t bytes_acked = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;      // including retransmissions
  uint64_t bytes_retrans = 0;
  uint64_t segs_out = 0;
  uint64_t segs_in = 0;
  uint32_t reordering_seen = 0;
  size_t recv_queued = 0;       // received bytes the application has not read (ss Recv-Q)
  size_t send_queued = 0;       // bytes in the send buffer: unsent or unacknowledged (ss Send-Q)
  size_t sndbuf = 0;            // send buffer size now (SO_SNDBUF; grows with cwnd unless set)
  size_t rcvbuf = 0;            // receive buffer size now (SO_RCVBUF; grows by DRS unless set)
  std::string_view congestion_control;
};

enum class TcpCounter : uint8_t {
  kRxSegments,
  kTxSegments,
  kRetransSegments,
  kActiveOpens,
  kPassiveOpens,
  kAttemptFails,
  kEstabResets,
  kOutRsts,
  kDropMalformed,
  kDropBadChecksum,
  kDropNoSocket,        // answered with RST
  kDropListenOverflow,  // accept queue full
  kDropNotAcceptable,   // outside the receive window (answered with an ACK)
  kDropPaws,
  kDropOooFull,
  kDropRcvbufFull,
  kDropNoBuffers,
  kSynCookiesSent,
  kSynCookiesRecv,
  kSynCookiesFailed,
  kChallengeAcks,
  kChallengeAcksLimited,
  kTimeouts,
  kFastRetrans,
  kRackLoss,
  kDsackRecv,
  kDsackSent,
  kTimeWaitRecycled,    // a new SYN reopened a TIME_WAIT connection
  kDelayedAcks,
  kZeroWindowProbes,
  kKeepaliveTimeouts,
  kUserTimeouts,
  kProbeTimeouts,       // zero-window probing gave up (tcp_retries2 / tcp_orphan_retries)
  kTlpProbes,           // tail loss probes sent (Linux TCPLossProbes)
  kTlpRecoveries,       // a probe repaired a loss: one window reduction (TCPLossProbeRecovery)
  kUndoDsack,           // reduction undone: every retransmission D-SACKed (TCPDSACKUndo)
  kUndoTimestamp,       // reduction undone: the ACK echoed a pre-retransmission TSval (Eifel)
  kRxFastPath,          // segments handled by header prediction (tcp_fast_path.cc)
  kTxTsoFrames,         // frames of several segments the device cuts (TSO); tx_segments counts the segments
  kAckSkippedTimeWait,  // a TIME-WAIT ACK not sent: tcp_invalid_ratelimit (Linux TCPACKSkippedTimeWait)
  kAckSkippedPaws,      // a PAWS reject's ACK not sent, same limit (TCPACKSkippedPAWS)
  kAckSkippedSeq,       // an out-of-window segment's ACK not sent, same limit (TCPACKSkippedSeq)
  kAckSkippedSynRecv,   // either, on a passive open not yet established (TCPACKSkippedSynRecv)
  kIcmpOutOfWindow,     // an ICMP error quoting a sequence number not in flight (Linux OutOfWindowIcmps)
  kPmtuBadSeq,          // the same for fragmentation needed: path MTU and MSS left alone
  kPmtuNoConnection,    // fragmentation needed quoting no connection of ours (or a TIME-WAIT one)
  kAbortOnData,         // new data for a connection closed for reading: reset (Linux TCPAbortOnData)
  kCount
};
constexpr std::array<std::string_view, 47> counter_names(TcpCounter) {
  return {"rx_segments",      "tx_segments",       "retrans_segments",     "active_opens",
          "passive_opens",    "attempt_fails",     "estab_resets",         "out_rsts",
          "drop_malformed",   "drop_bad_checksum", "drop_no_socket",       "drop_listen_overflow",
          "drop_not_acceptable", "drop_paws",      "drop_ooo_full",        "drop_rcvbuf_full",
          "drop_no_buffers",  "syncookies_sent",   "syncookies_recv",      "syncookies_failed",
          "challenge_acks",   "challenge_acks_limited", "timeouts",        "fast_retrans",
          "rack_loss",        "dsack_recv",        "dsack_sent",           "time_wait_recycled",
          "delayed_acks",     "zero_window_probes", "keepalive_timeouts",  "user_timeouts",
          "probe_timeouts",   "tlp_probes",        "tlp_recoveries",       "undo_dsack",
          "undo_timestamp",   "rx_fast_path",      "tx_tso_frames",        "ack_skipped_time_wait",
          "ack_skipped_paws", "ack_skipped_seq",   "ack_skipped_syn_recv", "icmp_out_of_window",
          "pmtu_bad_seq",     "pmtu_no_connection", "abort_on_data"};
}

}  // namespace joyride::core
