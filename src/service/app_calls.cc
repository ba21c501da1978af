// AppSession's control calls: socket, bind, listen, accept, connect, shutdown, close,
// options, names, TCP_INFO. Each answers with a result (>= 0) or a negated errno,
// exactly what the preload hands back to the application.
#include <linux/tcp.h>  // struct tcp_info and TCP_* as the kernel defines them (not glibc's shorter copy)
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "app_address.h"
#include "app_errno.h"
#include "joyride/service/app_session.h"

namespace joyride::service {

namespace {

// tcpi_state values (include/net/tcp_states.h; linux/tcp.h does not export them).
enum LinuxTcpState : uint8_t {
  TCP_ESTABLISHED = 1, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT,
  TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING,
};

uint8_t linux_state(core::TcpState s) {
  using S = core::TcpState;
  switch (s) {
    case S::kEstablished: return TCP_ESTABLISHED;
    case S::kSynSent: return TCP_SYN_SENT;
    case S::kSynReceived: return TCP_SYN_RECV;
    case S::kFinWait1: return TCP_FIN_WAIT1;
    case S::kFinWait2: return TCP_FIN_WAIT2;
    case S::kTimeWait: return TCP_TIME_WAIT;
    case S::kClosed: return TCP_CLOSE;
    case S::kCloseWait: return TCP_CLOSE_WAIT;
    case S::kLastAck: return TCP_LAST_ACK;
    case S::kListen: return TCP_LISTEN;
    case S::kClosing: return TCP_CLOSING;
  }
  return TCP_CLOSE;
}

uint32_t usec(base::Duration d) { return static_cast<uint32_t>(d.as_nanos() / 1000); }

}  // namespace

void AppSession::serve_call(ipc::CallSlot& c, base::Instant now) {
  counters_.inc(AppCounter::kCalls);
  Request req;
  req.op = c.op;
  req.socket = c.socket;
  req.generation = c.generation;
  std::memcpy(req.args, c.args, sizeof req.args);
  std::memcpy(&req.addr, &c.addr, sizeof req.addr);
  std::memcpy(req.name, c.payload, sizeof req.name - 1);
  int64_t result = -EINVAL;
  const auto op = static_cast<ipc::CallOp>(req.op);
  auto& tcp = stack_.tcp();
  if (op == ipc::CallOp::kSocket) {
    c.result = call_socket(req);
    if (c.result >= 0) c.out[0] = slots_[static_cast<size_t>(c.result)].generation;
    return;
  }
  Slot* s = owned(req.socket, req.generation);
  if (s == nullptr) {
    counters_.inc(AppCounter::kCallsRefused);
    c.result = -EBADF;
    return;
  }
  const uint32_t index = req.socket;
  if (!s->socket.valid() && op != ipc::CallOp::kClose && op != ipc::CallOp::kTakeError) {
    c.result = -ECONNRESET;  // reset for a bad FIFO index; only close and SO_ERROR remain
    return;
  }
  if (s->udp) {
    c.result = udp_call(index, *s, req, c, now);
    if (s->in_use && s->socket.valid()) pump(index, now);
    return;
  }
  switch (op) {
    case ipc::CallOp::kBind: {
      auto ep = endpoint_of(req.addr);
      if (!ep) {
        result = -EAFNOSUPPORT;
        break;
      }
      auto r = tcp.bind(s->socket, *ep);
      result = r ? 0 : -bind_errno(r.error());
      break;
    }
    case ipc::CallOp::kListen: {
      auto r = tcp.listen(s->socket, static_cast<int>(std::clamp<int64_t>(req.args[0], 0, 65535)));
      result = r ? 0 : -listen_errno(r.error());
      break;
    }
    case ipc::CallOp::kAccept:
      result = call_accept(*s, c, now);
      break;
    case ipc::CallOp::kConnect: {
      auto ep = endpoint_of(req.addr);
      if (!ep) {
        result = -EAFNOSUPPORT;
        break;
      }
      auto r = tcp.connect(s->socket, *ep, now);
      result = r ? 0 : -connect_errno(r.error());
      break;
    }
    case ipc::CallOp::kShutdown:
      result = call_shutdown(index, *s, static_cast<int>(req.args[0]), now);
      break;
    case ipc::CallOp::kClose:
      result = call_close(index, *s, now);
      return void(c.result = result);
    case ipc::CallOp::kSetOption:
      result = call_set_option(*s, req, now);
      break;
    case ipc::CallOp::kGetOption:
      result = call_get_option(*s, req, c);
      break;
    case ipc::CallOp::kLocalName:
    case ipc::CallOp::kPeerName: {
      auto ep = op == ipc::CallOp::kLocalName ? tcp.local_endpoint(s->socket) : tcp.remote_endpoint(s->socket);
      if (!ep) {
        result = op == ipc::CallOp::kPeerName ? -ENOTCONN : -EINVAL;
        break;
      }
      ipc::WireAddress a = wire_of(*ep);
      std::memcpy(&c.addr, &a, sizeof a);
      result = 0;
      break;
    }
    case ipc::CallOp::kTcpInfo:
      result = call_tcp_info(*s, c);
      break;
    case ipc::CallOp::kQueues: {
      auto info = tcp.info(s->socket);
      c.out[0] = info ? static_cast<int64_t>(info->send_queued) : 0;
      c.out[1] = info ? static_cast<int64_t>(info->recv_queued) : 0;
      result = 0;
      break;
    }
    case ipc::CallOp::kTakeError: {
      int err = s->pending_error;
      if (err != 0) {
        s->pending_error = 0;
      } else if (s->socket.valid()) {
        if (auto e = tcp.take_error(s->socket)) err = recv_errno(*e);
      }
      result = err;
      break;
    }
    default:
      counters_.inc(AppCounter::kCallsRefused);
      result = -EINVAL;
      break;
  }
  c.result = result;
  // Whatever the call changed (listening, connecting, a taken error) shows at once.
  if (s->in_use && s->socket.valid()) pump(index, now);
}

int64_t AppSession::call_socket(const Request& req) {
  if (req.args[0] == SOCK_DGRAM) {
    auto opened = stack_.udp().open();
    if (!opened) {
      counters_.inc(AppCounter::kSocketsRefused);
      return -open_errno(opened.error());
    }
    const int64_t index = open_slot(*opened, true);
    if (index < 0) stack_.udp().close(*opened);
    return index;
  }
  if (req.args[0] != SOCK_STREAM) return -EPROTONOSUPPORT;
  auto opened = stack_.tcp().open();
  if (!opened) {
    counters_.inc(AppCounter::kSocketsRefused);
    return -open_errno(opened.error());
  }
  const int64_t index = open_slot(*opened);
  if (index < 0) stack_.tcp().close(*opened, base::Instant{});
  return index;
}

int64_t AppSession::call_accept(Slot& listener, ipc::CallSlot& out, base::Instant now) {
  core::Endpoint peer;
  auto r = stack_.tcp().accept(listener.socket, &peer);
  if (!r) return -accept_errno(r.error());
  const int64_t index = open_slot(*r);
  if (index < 0) {
    // Over the app's limit: the connection is refused as Linux refuses one it cannot
    // give an fd (accept fails with EMFILE; here the connection is reset too).
    stack_.tcp().set_linger(*r, true, base::Duration{});
    stack_.tcp().close(*r, now);
    return index;
  }
  out.out[0] = slots_[static_cast<size_t>(index)].generation;
  ipc::WireAddress a = wire_of(peer);
  std::memcpy(&out.addr, &a, sizeof a);
  pump(static_cast<uint32_t>(index), now);  // data that came before accept()
  return index;
}

int64_t AppSession::call_close(uint32_t index, Slot& s, base::Instant now) {
  if (!s.socket.valid()) {
    free_slot(index);
    return 0;
  }
  if (s.ever_connected) pump_tx(index, s, now);
  if (!s.socket.valid()) {
    free_slot(index);
    return 0;
  }
  const uint64_t head = shared(index).rx.head.load(std::memory_order_acquire);
  const bool unread = head < s.rx_tail;
  if (unread) stack_.tcp().set_linger(s.socket, true, base::Duration{});  // RST, as Linux
  if (unread || s.tx_head == s.tx_tail) {
    stack_.tcp().close(s.socket, now);
    free_slot(index);
  } else {
    s.close_pending = true;  // the FIFO's rest is sent first; the app's handle is dead now
    shared(index).flags.store(0, std::memory_order_release);
  }
  return 0;
}

int64_t AppSession::call_shutdown(uint32_t index, Slot& s, int how, base::Instant now) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  const bool rd = how != SHUT_WR;
  const bool wr = how != SHUT_RD;
  if (wr && s.ever_connected) pump_tx(index, s, now);
  const bool defer_wr = wr && s.tx_head != s.tx_tail;
  if (!stack_.tcp().shutdown(s.socket, rd, wr && !defer_wr, now)) {
    if (!(rd && !wr)) return -ENOTCONN;
    return -ENOTCONN;
  }
  if (rd) {
    // SHUT_RD: a reader sees EOF once the bytes already in the FIFO are read.
    s.rd_eof = true;
  }
  if (defer_wr) s.shut_wr_pending = true;
  return 0;
}

int64_t AppSession::call_set_option(Slot& s, const Request& req, base::Instant now) {
  auto& tcp = stack_.tcp();
  const int level = static_cast<int>(req.args[0]);
  const int name = static_cast<int>(req.args[1]);
  const int64_t v = req.args[2];
  const bool on = v != 0;
  bool ok = false;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: ok = tcp.set_reuse_addr(s.socket, on); if (ok) s.reuse_addr = on; break;
      case SO_KEEPALIVE: ok = tcp.set_keepalive(s.socket, on, now); if (ok) s.keepalive = on; break;
      // Linux doubles the value for its bookkeeping overhead; getsockopt shows that.
      case SO_RCVBUF:
        ok = tcp.set_rcvbuf(s.socket, static_cast<size_t>(std::clamp<int64_t>(v, 0, 1 << 30)) * 2);
        if (ok) s.rcvbuf_set = static_cast<int32_t>(std::clamp<int64_t>(v, 0, 1 << 30) * 2);
        break;
      case SO_SNDBUF:
        ok = tcp.set_sndbuf(s.socket, static_cast<size_t>(std::clamp<int64_t>(v, 0, 1 << 30)) * 2);
        if (ok) s.sndbuf_set = static_cast<int32_t>(std::clamp<int64_t>(v, 0, 1 << 30) * 2);
        break;
      case SO_LINGER:
        ok = tcp.set_linger(s.socket, on, base::Duration::seconds(std::clamp<int64_t>(req.args[3], 0, 1 << 20)));
        if (ok) {
          s.linger_on = on;
          s.linger_seconds = static_cast<int32_t>(req.args[3]);
        }
        break;
      default: return -ENOPROTOOPT;
    }
  } else if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: ok = tcp.set_nodelay(s.socket, on, now); if (ok) s.nodelay = on; break;
      case TCP_CORK: ok = tcp.set_cork(s.socket, on, now); if (ok) s.cork = on; break;
      case TCP_KEEPIDLE:
      case TCP_KEEPINTVL:
      case TCP_KEEPCNT: {
        if (v < 1 || v > (name == TCP_KEEPCNT ? 127 : 32767)) return -EINVAL;
        int32_t idle = s.keep_idle, intvl = s.keep_interval, cnt = s.keep_count;
        (name == TCP_KEEPIDLE ? idle : name == TCP_KEEPINTVL ? intvl : cnt) = static_cast<int32_t>(v);
        ok = tcp.set_keepalive_params(s.socket, base::Duration::seconds(idle), base::Duration::seconds(intvl),
                                      static_cast<uint32_t>(cnt));
        if (ok) {
          s.keep_idle = idle;
          s.keep_interval = intvl;
          s.keep_count = cnt;
        }
        break;
      }
      case TCP_USER_TIMEOUT:
        if (v < 0 || v > INT32_MAX) return -EINVAL;
        ok = tcp.set_user_timeout(s.socket, base::Duration::millis(v));
        if (ok) s.user_timeout_ms = static_cast<int32_t>(v);
        break;
      case TCP_CONGESTION:
        ok = tcp.set_congestion_control(s.socket, std::string_view(req.name));
        if (!ok) return -ENOENT;  // Linux: an algorithm it does not have
        break;
      default: return -ENOPROTOOPT;
    }
  } else {
    return -ENOPROTOOPT;
  }
  return ok ? 0 : -EINVAL;
}

int64_t AppSession::call_get_option(Slot& s, const Request& req, ipc::CallSlot& out) {
  const int level = static_cast<int>(req.args[0]);
  const int name = static_cast<int>(req.args[1]);
  auto info = stack_.tcp().info(s.socket);
  int64_t v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: v = s.reuse_addr; break;
      case SO_KEEPALIVE: v = s.keepalive; break;
      // Before the connection has buffers, what was set (doubled, as Linux shows it).
      case SO_RCVBUF: v = info && info->rcvbuf != 0 ? static_cast<int64_t>(info->rcvbuf) : s.rcvbuf_set; break;
      case SO_SNDBUF: v = info && info->sndbuf != 0 ? static_cast<int64_t>(info->sndbuf) : s.sndbuf_set; break;
      case SO_LINGER: v = s.linger_on; out.out[1] = s.linger_seconds; break;
      default: return -ENOPROTOOPT;
    }
  } else if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: v = s.nodelay; break;
      case TCP_CORK: v = s.cork; break;
      case TCP_KEEPIDLE: v = s.keep_idle; break;
      case TCP_KEEPINTVL: v = s.keep_interval; break;
      case TCP_KEEPCNT: v = s.keep_count; break;
      case TCP_USER_TIMEOUT: v = s.user_timeout_ms; break;
      case TCP_MAXSEG: v = info && info->snd_mss != 0 ? info->snd_mss : 536; break;
      case TCP_CONGESTION: {
        const std::string_view cc = info ? info->congestion_control : std::string_view{};
        std::memset(out.payload, 0, 16);
        std::memcpy(out.payload, cc.data(), std::min<size_t>(cc.size(), 15));
        v = 16;
        break;
      }
      default: return -ENOPROTOOPT;
    }
  } else {
    return -ENOPROTOOPT;
  }
  out.out[0] = v;
  return 0;
}

int64_t AppSession::call_tcp_info(Slot& s, ipc::CallSlot& out) {
  static_assert(sizeof(tcp_info) <= ipc::kCallPayload);
  auto info = stack_.tcp().info(s.socket);
  tcp_info t{};
  if (info) {
    t.tcpi_state = linux_state(info->state);
    t.tcpi_retransmits = static_cast<uint8_t>(std::min<uint32_t>(info->retransmits, 255));
    t.tcpi_options = (info->timestamps ? TCPI_OPT_TIMESTAMPS : 0) | (info->sack ? TCPI_OPT_SACK : 0) |
                     (info->snd_wscale || info->rcv_wscale ? TCPI_OPT_WSCALE : 0) | (info->ecn ? TCPI_OPT_ECN : 0);
    t.tcpi_snd_wscale = info->snd_wscale;
    t.tcpi_rcv_wscale = info->rcv_wscale;
    t.tcpi_rto = usec(info->rto);
    t.tcpi_snd_mss = info->snd_mss;
    t.tcpi_rcv_mss = info->rcv_mss;
    t.tcpi_unacked = info->snd_mss ? info->unacked / info->snd_mss : 0;
    t.tcpi_sacked = info->snd_mss ? info->sacked / info->snd_mss : 0;
    t.tcpi_lost = info->snd_mss ? info->lost / info->snd_mss : 0;
    t.tcpi_rtt = usec(info->rtt);
    t.tcpi_rttvar = usec(info->rttvar);
    t.tcpi_snd_ssthresh = info->snd_mss && info->ssthresh != UINT32_MAX ? info->ssthresh / info->snd_mss : 0x7fffffff;
    t.tcpi_snd_cwnd = info->snd_mss ? info->cwnd / info->snd_mss : 0;
    t.tcpi_advmss = info->rcv_mss;
    t.tcpi_reordering = info->reordering_seen ? info->reordering_seen : 3;
    t.tcpi_total_retrans = static_cast<uint32_t>(info->total_retrans);
    t.tcpi_bytes_acked = info->bytes_acked;
    t.tcpi_bytes_received = info->bytes_received;
    t.tcpi_segs_out = static_cast<uint32_t>(info->segs_out);
    t.tcpi_segs_in = static_cast<uint32_t>(info->segs_in);
    t.tcpi_min_rtt = usec(info->min_rtt);
    t.tcpi_delivered = static_cast<uint32_t>(info->delivered);
    t.tcpi_bytes_sent = info->bytes_sent;
    t.tcpi_bytes_retrans = info->bytes_retrans;
    t.tcpi_snd_wnd = info->snd_wnd;
  } else {
    t.tcpi_state = TCP_CLOSE;
  }
  std::memcpy(out.payload, &t, sizeof t);
  out.out[0] = sizeof t;
  return 0;
}

}  // namespace joyride::service
