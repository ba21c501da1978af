// AppSession's UDP sockets: their control calls and the pumps that move datagram
// records (ipc::DatagramHeader + payload, region.h) between the region's FIFOs and
// the core's UDP sockets.
//
// The rx FIFO is the socket's receive buffer as the app sees it: each pump drains
// the core socket's queue into it, and a datagram with no room for its whole record
// is dropped and counted (udp_rx_dropped), as Linux drops on a full socket buffer.
// The tx FIFO holds datagrams the app has "sent": every header is copied out and
// checked before use; a lie (a length past what the app published, over the UDP
// maximum, a record crossing the FIFO's end, an unknown family) ends that socket
// only (bad_index). What the core reports for a send (EMSGSIZE, ENETUNREACH, the
// ECONNREFUSED an ICMP error left on a connected socket) becomes the socket's
// pending error: SO_ERROR, or the next send/recv returns it, as on Linux.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "app_address.h"
#include "app_errno.h"
#include "joyride/service/app_session.h"

namespace joyride::service {

namespace {

constexpr int32_t kDefaultBuffer = 212992;  // Linux net.core.{r,w}mem_default, what getsockopt shows unset

int32_t doubled(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, 0, 1 << 30) * 2); }

}  // namespace

int64_t AppSession::udp_call(uint32_t index, Slot& s, const Request& req, ipc::CallSlot& out, base::Instant now) {
  auto& udp = stack_.udp();
  switch (static_cast<ipc::CallOp>(req.op)) {
    case ipc::CallOp::kBind: {
      auto ep = endpoint_of(req.addr);
      if (!ep) return -EAFNOSUPPORT;
      auto r = udp.bind(s.socket, *ep);
      return r ? 0 : -bind_errno(r.error());
    }
    case ipc::CallOp::kConnect: {
      auto ep = endpoint_of(req.addr);
      if (!ep) return -EAFNOSUPPORT;
      // Datagrams already queued to the old peer go first (they were sent before).
      pump_udp_tx(index, s, now);
      if (!s.socket.valid()) return -ECONNRESET;
      auto r = udp.connect(s.socket, *ep, now);
      return r ? 0 : -connect_errno(r.error());
    }
    case ipc::CallOp::kShutdown: {
      const int how = static_cast<int>(req.args[0]);
      if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
      // Linux's inet_shutdown marks the socket even when it is not connected, and
      // then answers ENOTCONN for it.
      if (how != SHUT_WR) s.rd_eof = true;
      if (how != SHUT_RD) s.shut_wr_pending = true;
      return udp.remote_endpoint(s.socket) ? 0 : -ENOTCONN;
    }
    case ipc::CallOp::kClose:
      udp_close(index, s, now);
      return 0;
    case ipc::CallOp::kSetOption:
      return udp_set_option(s, req);
    case ipc::CallOp::kGetOption:
      return udp_get_option(s, req, out);
    case ipc::CallOp::kLocalName:
    case ipc::CallOp::kPeerName: {
      const bool local = static_cast<ipc::CallOp>(req.op) == ipc::CallOp::kLocalName;
      auto ep = local ? udp.local_endpoint(s.socket) : udp.remote_endpoint(s.socket);
      // An unbound UDP socket's name is 0.0.0.0:0 on Linux, not an error.
      if (!ep && !local) return -ENOTCONN;
      const ipc::WireAddress a = wire_of(ep ? *ep : core::Endpoint{wire::Ipv4Address(), 0});
      std::memcpy(&out.addr, &a, sizeof a);
      return 0;
    }
    case ipc::CallOp::kQueues:
      out.out[0] = 0;  // a sent datagram leaves the stack at once
      out.out[1] = 0;  // FIONREAD is the next datagram in the FIFO (the preload's)
      return 0;
    case ipc::CallOp::kTakeError: {
      int err = s.pending_error;
      if (err != 0) {
        s.pending_error = 0;
      } else if (s.socket.valid()) {
        if (auto e = udp.take_error(s.socket)) err = recv_errno(*e);
      }
      return err;
    }
    case ipc::CallOp::kListen:
    case ipc::CallOp::kAccept:
      return -EOPNOTSUPP;  // as Linux for a datagram socket
    case ipc::CallOp::kTcpInfo:
      return -ENOPROTOOPT;
    default:
      counters_.inc(AppCounter::kCallsRefused);
      return -EINVAL;
  }
}

int64_t AppSession::udp_set_option(Slot& s, const Request& req) {
  auto& udp = stack_.udp();
  const int level = static_cast<int>(req.args[0]);
  const int name = static_cast<int>(req.args[1]);
  const int64_t v = req.args[2];
  if (level != SOL_SOCKET) return -ENOPROTOOPT;
  bool ok = false;
  switch (name) {
    case SO_REUSEADDR: ok = udp.set_reuse_addr(s.socket, v != 0); if (ok) s.reuse_addr = v != 0; break;
    case SO_BROADCAST: ok = udp.set_broadcast(s.socket, v != 0); if (ok) s.broadcast = v != 0; break;
    case SO_RCVBUF:
      // The core doubles it (as Linux) within its own ceiling.
      ok = udp.set_rcvbuf(s.socket, static_cast<size_t>(std::clamp<int64_t>(v, 0, 1 << 30)));
      if (ok) s.rcvbuf_set = doubled(v);
      break;
    case SO_SNDBUF:
      // Nothing to size: a datagram leaves the stack as it is sent (the tx FIFO is
      // the only send buffer). Kept for getsockopt, as applications check it.
      s.sndbuf_set = doubled(v);
      ok = true;
      break;
    default: return -ENOPROTOOPT;
  }
  return ok ? 0 : -EINVAL;
}

int64_t AppSession::udp_get_option(Slot& s, const Request& req, ipc::CallSlot& out) {
  const int level = static_cast<int>(req.args[0]);
  const int name = static_cast<int>(req.args[1]);
  if (level != SOL_SOCKET) return -ENOPROTOOPT;
  int64_t v = 0;
  switch (name) {
    case SO_REUSEADDR: v = s.reuse_addr; break;
    case SO_BROADCAST: v = s.broadcast; break;
    case SO_RCVBUF: v = s.rcvbuf_set != 0 ? s.rcvbuf_set : kDefaultBuffer; break;
    case SO_SNDBUF: v = s.sndbuf_set != 0 ? s.sndbuf_set : kDefaultBuffer; break;
    default: return -ENOPROTOOPT;
  }
  out.out[0] = v;
  return 0;
}

void AppSession::udp_close(uint32_t index, Slot& s, base::Instant now) {
  if (s.socket.valid()) {
    pump_udp_tx(index, s, now);  // what the app sent before close() still goes out
    if (s.socket.valid()) stack_.udp().close(s.socket);
  }
  free_slot(index);
}

void AppSession::pump_udp(uint32_t index, Slot& s, base::Instant now) {
  pump_udp_tx(index, s, now);
  if (!s.socket.valid()) return;
  pump_udp_rx(index, s);
  if (!s.socket.valid()) return;
  publish_udp_flags(index, s);
}

void AppSession::pump_udp_rx(uint32_t index, Slot& s) {
  auto& udp = stack_.udp();
  ipc::SocketShared& sh = shared(index);
  const uint64_t head = sh.rx.head.load(std::memory_order_acquire);
  if (head < s.rx_head || head > s.rx_tail) return udp_bad_record(index);
  s.rx_head = head;
  const uint64_t start = s.rx_tail;
  const uint32_t size = geometry_.fifo_bytes;
  for (;;) {
    const std::optional<size_t> bytes = udp.next_datagram_bytes(s.socket);
    if (!bytes) {
      // None queued, or an error (an ICMP one) comes first: it becomes the pending
      // error and the datagrams behind it still move.
      const std::optional<core::RecvError> e = udp.take_error(s.socket);
      if (!e) break;
      if (s.pending_error == 0) s.pending_error = recv_errno(*e);
      continue;
    }
    const uint64_t record = ipc::datagram_record_bytes(*bytes);
    const uint64_t at = ipc::datagram_place(s.rx_head, s.rx_tail, size, record);
    if (at == ipc::kNoRoom) {
      (void)udp.recv_from(s.socket, {});  // dropped whole, never truncated to fit
      counters_.inc(AppCounter::kUdpRxDropped);
      continue;
    }
    if (at != s.rx_tail && size - s.rx_tail % size >= sizeof(ipc::DatagramHeader)) {
      const ipc::DatagramHeader skip{ipc::kDatagramSkip, 0, {}};
      std::memcpy(rx_fifo(index) + s.rx_tail % size, &skip, sizeof skip);
    }
    uint8_t* place = rx_fifo(index) + at % size;
    auto got = udp.recv_from(s.socket, {place + sizeof(ipc::DatagramHeader), *bytes});
    if (!got) break;  // the peek said otherwise; nothing was taken
    const ipc::DatagramHeader h{static_cast<uint32_t>(got->bytes), 0, wire_of(got->from)};
    std::memcpy(place, &h, sizeof h);
    s.rx_tail = at + record;
    counters_.inc(AppCounter::kBytesIn, got->bytes);
  }
  if (s.rx_tail != start) {
    sh.rx.tail.store(s.rx_tail, std::memory_order_release);
    published_ = true;
  }
}

void AppSession::pump_udp_tx(uint32_t index, Slot& s, base::Instant now) {
  ipc::SocketShared& sh = shared(index);
  const uint64_t tail = sh.tx.tail.load(std::memory_order_acquire);
  // As for TCP: the tail only moves forward, never past one FIFO of what was taken.
  if (tail < s.tx_tail || tail - s.tx_head > geometry_.fifo_bytes) return udp_bad_record(index);
  s.tx_tail = tail;
  const uint64_t start = s.tx_head;
  while (s.tx_head < s.tx_tail) {
    if (!send_udp_record(index, s, now)) return udp_bad_record(index);
  }
  if (s.tx_head != start) {
    sh.tx.head.store(s.tx_head, std::memory_order_release);
    published_ = true;
  }
}

bool AppSession::send_udp_record(uint32_t index, Slot& s, base::Instant now) {
  const uint32_t size = geometry_.fifo_bytes;
  const uint64_t to_end = size - s.tx_head % size;
  const uint8_t* at = tx_fifo(index) + s.tx_head % size;
  ipc::DatagramHeader h{};
  if (to_end >= sizeof h) std::memcpy(&h, at, sizeof h);  // copied once: the app may rewrite it
  if (to_end < sizeof h || h.length == ipc::kDatagramSkip) {
    // A skip must be followed by a record the app published.
    if (to_end >= s.tx_tail - s.tx_head) return false;
    s.tx_head += to_end;
    return true;
  }
  if (h.length > ipc::kMaxDatagram) return false;
  const uint64_t record = ipc::datagram_record_bytes(h.length);
  if (record > to_end || record > s.tx_tail - s.tx_head) return false;
  std::optional<core::Endpoint> to;
  if (h.addr.family != 0) {
    to = endpoint_of(h.addr);
    if (!to) return false;
  }
  if (s.shut_wr_pending) {
    s.tx_head += record;  // written before the app saw SHUT_WR: gone, as EPIPE would have said
    return true;
  }
  auto sent = stack_.udp().send_to(s.socket, {at + sizeof h, h.length}, to, now);
  if (sent) {
    counters_.inc(AppCounter::kBytesOut, h.length);
  } else if (sent.error() == core::SendError::kNoBuffers || sent.error() == core::SendError::kWouldBlock) {
    counters_.inc(AppCounter::kUdpTxDropped);  // Linux counts and forgets ENOBUFS without IP_RECVERR
  } else if (s.pending_error == 0) {
    s.pending_error = send_errno(sent.error());
  }
  s.tx_head += record;
  return true;
}

void AppSession::publish_udp_flags(uint32_t index, Slot& s) {
  auto& udp = stack_.udp();
  uint32_t f = ipc::kOpen | ipc::kDatagram;
  if (udp.remote_endpoint(s.socket)) f |= ipc::kConnected;
  if (s.rd_eof) f |= ipc::kRdEof;
  if (s.shut_wr_pending) f |= ipc::kWrClosed;
  if (s.pending_error != 0) f |= ipc::kError;
  ipc::SocketShared& sh = shared(index);
  // The error only changes from 0 or to 0, so it changes with kError.
  if (f != s.flags) {
    sh.error.store(s.pending_error, std::memory_order_relaxed);
    sh.flags.store(f, std::memory_order_release);
    s.flags = f;
    published_ = true;
  }
}

void AppSession::udp_bad_record(uint32_t index) {
  // The app broke its own records: that socket ends (its core socket is closed so
  // nothing more is sent in its name), the slot stays until the app's close so it
  // sees the error, and it is counted.
  counters_.inc(AppCounter::kBadIndex);
  Slot& s = slots_[index];
  stack_.udp().close(s.socket);
  unroute(s.socket);
  s.socket = core::SocketId{};
  s.pending_error = EPROTO;
  s.rd_eof = true;
  const uint32_t f = ipc::kOpen | ipc::kDatagram | ipc::kError | ipc::kWrClosed | ipc::kRdEof | ipc::kHangup;
  shared(index).error.store(EPROTO, std::memory_order_relaxed);
  shared(index).flags.store(f, std::memory_order_release);
  s.flags = f;
  published_ = true;
}

}  // namespace joyride::service
