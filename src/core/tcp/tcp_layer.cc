// Sockets, binding, demultiplexing and the socket calls of TCP. The protocol rules
// live in the other tcp_*.cc files; this one keeps the tables straight.
#include "joyride/core/tcp_layer.h"

#include <algorithm>
#include <cassert>

#include "joyride/base/bytes.h"
#include "joyride/core/packet_checksum.h"
#include "joyride/wire/checksum.h"
#include "tcp_internal.h"

namespace joyride::core {

using base::Duration;
using base::Instant;
using base::SeqNum;
using tcp::Tcb;

std::string_view to_string(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynSent: return "SYN-SENT";
    case TcpState::kSynReceived: return "SYN-RECEIVED";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN-WAIT-1";
    case TcpState::kFinWait2: return "FIN-WAIT-2";
    case TcpState::kCloseWait: return "CLOSE-WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST-ACK";
    case TcpState::kTimeWait: return "TIME-WAIT";
  }
  return "?";
}

namespace tcp {
Tcb::Tcb(TcpLayer* owner, size_t ooo_bytes, size_t ooo_segments)
    : layer(owner),
      ooo(ooo_bytes, ooo_segments),
      rtx_timer([](void* c, Instant now) { TcpTimers::rtx(*static_cast<Tcb*>(c), now); }, this),
      delack_timer([](void* c, Instant now) { TcpTimers::delack(*static_cast<Tcb*>(c), now); }, this),
      keepalive_timer([](void* c, Instant now) { TcpTimers::keepalive(*static_cast<Tcb*>(c), now); }, this),
      wait_timer([](void* c, Instant now) { TcpTimers::wait(*static_cast<Tcb*>(c), now); }, this) {}
}  // namespace tcp

TcpLayer::TcpLayer(const TcpConfig& config, tcp::HostTable& table, Ipv4Layer& ip, buf::PacketPool& pool,
                   base::RandomSource& random, base::TimerWheel& timers, ReadinessQueue& ready,
                   base::BufferProvider& buffers)
    : config_(config),
      ip_(ip),
      pool_(pool),
      random_(random),
      timers_(timers),
      ready_(ready),
      buffers_(buffers),
      table_(table),
      sockets_(SocketKind::kTcp, config.max_sockets),
      challenge_acks_left_(config.challenge_ack_limit) {}

TcpLayer::~TcpLayer() {
  destroying_ = true;
  std::vector<SocketId> ids;
  sockets_.for_each([&](SocketId id, std::unique_ptr<Tcb>&) { ids.push_back(id); });
  for (SocketId id : ids) {
    if (Tcb* t = tcb(id)) free_tcb(*t);
  }
}

void TcpLayer::reset_all(Instant now) {
  std::vector<SocketId> ids;
  sockets_.for_each([&](SocketId id, std::unique_ptr<Tcb>&) { ids.push_back(id); });
  for (SocketId id : ids) {
    Tcb* t = tcb(id);
    if (t == nullptr) continue;  // a listener's child, gone with it
    if (t->state != TcpState::kClosed) abort(*t, RecvError::kConnectionReset, true, now);
    if (Tcb* still = tcb(id)) free_tcb(*still);
  }
}

Tcb* TcpLayer::tcb(SocketId s) {
  auto* p = sockets_.get(s);
  return p == nullptr ? nullptr : p->get();
}

// ---- lifetime ---------------------------------------------------------------------------

std::unique_ptr<Tcb> TcpLayer::make_tcb() {
  auto t = std::make_unique<Tcb>(this, config_.rcvbuf_max, config_.ooo_max_segments);
  t->rtt = tcp::RttEstimator(config_.initial_rto, config_.min_rto, config_.max_rto);
  t->keepalive_idle = config_.keepalive_idle;
  t->keepalive_interval = config_.keepalive_interval;
  t->keepalive_probes = config_.keepalive_probes;
  t->cc = tcp::make_congestion_control(config_.congestion_control);
  if (!t->cc) t->cc = tcp::make_congestion_control(tcp::kDefaultCongestionControl);
  return t;
}

base::Result<SocketId, OpenError> TcpLayer::new_tcb() {
  auto t = make_tcb();
  Tcb* raw = t.get();
  auto id = sockets_.insert(std::move(t));
  if (!id) return base::Err{id.error()};
  raw->id = *id;
  return *id;
}

Tcb& TcpLayer::reopen(Tcb& old) {
  // A socket whose connect() failed, or one disconnect() took out of SYN-SENT or
  // LISTEN: CLOSED, out of the demux table, with no listener or children. Its timers
  // are cancelled here.
  assert(old.state == TcpState::kClosed && !old.in_table && !old.parent.valid() && old.accept_queue.empty());
  std::unique_ptr<Tcb> fresh = make_tcb();
  Tcb& t = *fresh;
  t.id = old.id;
  // Socket options outlive the connection (they are the socket's, not the TCB's).
  t.reuse_addr = old.reuse_addr;
  t.nodelay = old.nodelay;
  t.cork = old.cork;
  t.keepalive = old.keepalive;
  t.keepalive_idle = old.keepalive_idle;
  t.keepalive_interval = old.keepalive_interval;
  t.keepalive_probes = old.keepalive_probes;
  t.user_timeout = old.user_timeout;
  t.linger = old.linger;
  t.linger_time = old.linger_time;
  t.sndbuf_limit = old.sndbuf_limit;
  t.rcvbuf_limit = old.rcvbuf_limit;
  if (auto cc = tcp::make_congestion_control(old.cc->name())) t.cc = std::move(cc);
  // Linux keeps what bind() fixed; a port chosen by connect() (or by bind() to port
  // 0) was given back when the connection closed (connection_done, release_port); a
  // listener's is given back here.
  t.addr_locked = old.addr_locked;
  t.port_locked = old.port_locked;
  if (old.addr_locked) t.tuple.local = old.tuple.local;
  release_port(old);
  if (old.port_locked) {
    t.tuple.local_port = old.tuple.local_port;
    t.bound = old.bound;
    // The fresh TCB takes the old one's place in the port table.
    if (t.bound) std::ranges::replace(table_.by_port[t.tuple.local_port], &old, &t);
  }
  old.rtx_timer.cancel();
  old.delack_timer.cancel();
  old.keepalive_timer.cancel();
  old.wait_timer.cancel();
  if (!old.snd.storage().empty()) buffers_.release(old.snd.storage());
  if (!old.rcv.storage().empty()) buffers_.release(old.rcv.storage());
  t.reported = old.reported;
  *sockets_.get(old.id) = std::move(fresh);  // `old` is gone from here on
  return t;
}

Tcb& TcpLayer::disconnect(Tcb& t, std::optional<RecvError> error, Instant now) {
  const SocketId id = t.id;
  if (t.state == TcpState::kListen) {
    // inet_csk_listen_stop: connections waiting for accept() are reset, as when a
    // listener closes; embryonic ones (SYN-RECEIVED) go silently, and the peer's
    // ACK that would have completed one then finds no socket and is answered with
    // an RST.
    for (SocketId child : t.accept_queue) {
      if (Tcb* c = tcb(child)) {
        c->parent = SocketId{};
        abort(*c, std::nullopt, true, now);
      }
    }
    t.accept_queue.clear();
    std::vector<SocketId> embryos;
    sockets_.for_each([&](SocketId cid, std::unique_ptr<Tcb>& c) {
      if (c->parent == id) embryos.push_back(cid);
    });
    for (SocketId cid : embryos) {
      if (Tcb* c = tcb(cid)) {
        c->parent = SocketId{};
        connection_done(*c, now);
      }
    }
    t.syn_queue = 0;
  }
  if (t.in_table) hash_remove(t);
  t.state = TcpState::kClosed;
  Tcb& fresh = reopen(t);
  fresh.pending_error = error;
  notify(fresh, true);  // a state change (and maybe an error) for the host
  return fresh;
}

void TcpLayer::release_port(Tcb& t) {
  // Linux tcp_set_state(TCP_CLOSE): inet_put_port unless SOCK_BINDPORT_LOCK, i.e.
  // unless bind() named the port. A port connect() (or bind() to port 0, or
  // listen()) chose is free again the moment the connection closes, not when the
  // socket is next used.
  if (!t.bound || t.port_locked) return;
  unbind_port(t);
}

void TcpLayer::unbind_port(Tcb& t) {
  auto it = table_.by_port.find(t.tuple.local_port);
  if (it != table_.by_port.end()) {
    std::erase(it->second, &t);
    if (it->second.empty()) table_.by_port.erase(it);
  }
  t.bound = false;
}

bool TcpLayer::time_wait_reusable(const Tcb& old, bool ephemeral, Instant now) const {
  // Linux tcp_twsk_unique. Only an old connection with timestamps: PAWS then keeps
  // its delayed segments out of the new one (whose SYN echoes its TS.Recent).
  if (!old.ts_ok) return false;
  // A port bind() fixed is the application's explicit choice: taken over always.
  if (!ephemeral) return true;
  // Otherwise tcp_tw_reuse decides, 2 meaning 1 for loopback pairs and 0 for the rest,
  // and only once the pair has been in TIME_WAIT for more than tcp_tw_reuse_delay
  // (1 s; Linux 6.13's rule, from tw_entry_stamp: earlier kernels counted from the
  // last timestamp received).
  const bool loopback = old.tuple.local.is_loopback() || old.tuple.remote.is_loopback();
  const bool reuse = config_.tw_reuse == 1 || (config_.tw_reuse == 2 && loopback);
  return reuse && now - old.time_wait_at > Duration::seconds(1);
}

void TcpLayer::free_tcb(Tcb& t) {
  const SocketId id = t.id;
  t.rtx_timer.cancel();
  t.delack_timer.cancel();
  t.delack_owed = false;
  t.keepalive_timer.cancel();
  t.wait_timer.cancel();
  if (t.in_table) hash_remove(t);
  if (t.bound) unbind_port(t);
  // A listener's children die with it (Linux resets them when the listener closes).
  if (t.state == TcpState::kListen || !t.accept_queue.empty()) {
    for (SocketId child : t.accept_queue) {
      if (Tcb* c = tcb(child)) {
        c->parent = SocketId{};
        if (!destroying_) abort(*c, std::nullopt, true, Instant{});
      }
    }
    t.accept_queue.clear();
  }
  if (t.parent.valid()) child_gone(t);
  if (!t.snd.storage().empty()) buffers_.release(t.snd.storage());
  if (!t.rcv.storage().empty()) buffers_.release(t.rcv.storage());
  t.ooo.clear();
  t.rtx.clear();
  ready_.forget(id);
  if (table_.last_lookup == &t) table_.last_lookup = nullptr;
  sockets_.erase(id);
}

void TcpLayer::connection_done(Tcb& t, Instant now) {
  (void)now;
  set_state(t, TcpState::kClosed, now);
  t.rtx_timer.cancel();
  t.delack_timer.cancel();
  t.delack_owed = false;
  t.keepalive_timer.cancel();
  t.wait_timer.cancel();
  if (t.in_table) hash_remove(t);
  release_port(t);
  t.ooo.clear();
  t.rtx.clear();
  // The application still holds a visible socket: it reads the error or EOF and
  // closes it. Orphans and never-accepted children go now.
  if (t.orphan || !t.user_visible) free_tcb(t);
  else notify(t, true);
}

void TcpLayer::abort(Tcb& t, std::optional<RecvError> error, bool send_rst_now, Instant now) {
  if (send_rst_now && t.state != TcpState::kClosed && t.state != TcpState::kListen &&
      t.state != TcpState::kSynSent && t.state != TcpState::kTimeWait) {
    send_rst(t, now);
  }
  if (error) t.pending_error = error;
  t.reset = true;
  if (t.state == TcpState::kEstablished || t.state == TcpState::kCloseWait) counters_.inc(TcpCounter::kEstabResets);
  connection_done(t, now);
}

bool TcpLayer::init_buffers(Tcb& t) {
  // A connection without one of its rings would open with a zero window or never be
  // writable: a silent stall. So it gets both or neither, and the callers refuse the
  // connection instead (as Linux does when it cannot allocate under memory pressure).
  std::span<uint8_t> snd, rcv;
  if (t.snd.capacity() == 0) {
    snd = buffers_.allocate(t.sndbuf_limit ? t.sndbuf_limit : config_.sndbuf_default);
    if (snd.empty()) return false;
  }
  if (t.rcv.capacity() == 0) {
    rcv = buffers_.allocate(t.rcvbuf_limit ? t.rcvbuf_limit : config_.rcvbuf_default);
    if (rcv.empty()) {
      buffers_.release(snd);  // an empty span (the ring was already there) is ignored
      return false;
    }
  }
  if (!snd.empty()) t.snd = base::ByteRing(snd);
  if (!rcv.empty()) t.rcv = base::ByteRing(rcv);
  return true;
}

void TcpLayer::set_state(Tcb& t, TcpState s, Instant now) {
  (void)now;
  if (t.state == s) return;
  const TcpState old = t.state;
  t.state = s;
  if (s == TcpState::kEstablished && old == TcpState::kSynSent) counters_.inc(TcpCounter::kActiveOpens);
  notify(t, true);
}

// Edge-triggered, as epoll's EPOLLET: the host hears of a socket when a readiness bit
// appears (data after an empty ring, space after a full one, a FIN, an error, a state
// change that adds a bit) and on every state change. A change that only clears bits
// (recv emptied the ring, send filled the buffer) queues nothing, but refreshes an
// event the host has not taken yet, so what an event says is never staler than
// before. The host's rule is the usual one for edge triggering: act until the call
// would block; every event consumer in the tree (service, tools/sim) does.
void TcpLayer::notify_changed(Tcb& t, uint32_t r, bool always) {
  if ((r & ~t.reported) != 0 || always) {
    ready_.mark(t.id, r);
  } else {
    ready_.update(t.id, r);
  }
  t.reported = r;
}

// ---- binding and demux -------------------------------------------------------------------

bool TcpLayer::port_in_use(wire::Ipv4Address addr, uint16_t port, const Tcb* except, bool reuse,
                           const Tcb* except_too) const {
  // Every instance's sockets count: the port table is the host's.
  auto it = table_.by_port.find(port);
  if (it == table_.by_port.end()) return false;
  for (const Tcb* p : it->second) {
    if (p == except || p == except_too) continue;
    const Tcb& o = *p;
    const bool overlap = addr.is_unspecified() || o.tuple.local.is_unspecified() || o.tuple.local == addr;
    if (!overlap) continue;
    // Linux: SO_REUSEADDR on both lets a bind share the port unless the other one is
    // listening; a connection in TIME_WAIT does not block a reusing bind.
    if (reuse && o.reuse_addr && o.state != TcpState::kListen) continue;
    if (reuse && o.state == TcpState::kTimeWait) continue;
    return true;
  }
  return false;
}

void TcpLayer::hash_insert(Tcb& t) {
  table_.established[t.tuple] = &t;
  t.in_table = true;
  table_.last_lookup = nullptr;
}

void TcpLayer::hash_remove(Tcb& t) {
  auto it = table_.established.find(t.tuple);
  if (it != table_.established.end() && it->second == &t) table_.established.erase(it);
  t.in_table = false;
  table_.last_lookup = nullptr;
}

Tcb* TcpLayer::lookup_table(const tcp::FourTuple& key) {
  auto it = table_.established.find(key);
  if (it == table_.established.end()) return nullptr;
  table_.last_lookup = it->second;
  return it->second;
}

Tcb* TcpLayer::lookup_listener(wire::Ipv4Address addr, uint16_t port) {
  auto it = table_.by_port.find(port);
  if (it == table_.by_port.end()) return nullptr;
  Tcb* wildcard = nullptr;
  for (Tcb* t : it->second) {
    if (t->state != TcpState::kListen) continue;
    if (t->tuple.local == addr) return t;
    if (t->tuple.local.is_unspecified()) wildcard = t;
  }
  return wildcard;
}

// ---- socket calls ------------------------------------------------------------------------

base::Result<SocketId, OpenError> TcpLayer::open() { return new_tcb(); }

base::Status<BindError> TcpLayer::bind(SocketId s, Endpoint local) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return base::Err{BindError::kBadSocket};
  if (!local.address.is_v4()) return base::Err{BindError::kUnsupportedFamily};
  if (t->bound || t->state != TcpState::kClosed) return base::Err{BindError::kAlreadyBound};
  const wire::Ipv4Address addr = local.address.v4();
  if (!addr.is_unspecified() && !ip_.is_local_address(addr)) return base::Err{BindError::kAddressNotAvailable};
  uint16_t port = local.port;
  if (port == 0) {
    auto p = table_.ports.pick(addr, wire::Ipv4Address::any(), 0,
                         [&](uint16_t c) { return !port_in_use(addr, c, t, t->reuse_addr); });
    if (!p) return base::Err{BindError::kNoEphemeralPorts};
    port = *p;
  } else if (port_in_use(addr, port, t, t->reuse_addr)) {
    return base::Err{BindError::kAddressInUse};
  }
  t->tuple.local = addr;
  t->tuple.local_port = port;
  t->bound = true;
  t->port_locked = local.port != 0;
  t->addr_locked = !addr.is_unspecified();
  table_.by_port[port].push_back(t);
  return {};
}

base::Status<ListenError> TcpLayer::listen(SocketId s, int backlog) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return base::Err{ListenError::kBadSocket};
  if (t->state != TcpState::kClosed && t->state != TcpState::kListen) return base::Err{ListenError::kInvalid};
  if (!t->bound) {
    if (auto r = bind(s, Endpoint{wire::Ipv4Address::any(), 0}); !r) return base::Err{ListenError::kNoEphemeralPorts};
  } else if (t->state == TcpState::kClosed) {
    // Another socket may have started listening on the port since our bind (both
    // with SO_REUSEADDR): only one listener per address and port.
    if (port_in_use(t->tuple.local, t->tuple.local_port, t, false)) {
      for (const Tcb* o : table_.by_port[t->tuple.local_port]) {
        if (o != t && o->state == TcpState::kListen) return base::Err{ListenError::kAddressInUse};
      }
    }
  }
  // Linux __sys_listen: capped at somaxconn, compared unsigned, so a negative backlog
  // means somaxconn. 0 stays 0: the queues hold one more than the backlog
  // (tcp::accept_queue_full), so listen(fd, 0) still lets one connection wait.
  t->backlog = static_cast<uint32_t>(backlog) > config_.somaxconn ? config_.somaxconn : static_cast<uint32_t>(backlog);
  t->state = TcpState::kListen;
  return {};
}

base::Result<SocketId, AcceptError> TcpLayer::accept(SocketId listener, Endpoint* peer) {
  Tcb* l = tcb(listener);
  if (l == nullptr || l->orphan) return base::Err{AcceptError::kBadSocket};
  if (l->state != TcpState::kListen) return base::Err{AcceptError::kInvalid};
  while (!l->accept_queue.empty()) {
    const SocketId child_id = l->accept_queue.front();
    l->accept_queue.pop_front();
    Tcb* c = tcb(child_id);
    if (c == nullptr) continue;
    c->parent = SocketId{};
    c->user_visible = true;
    c->connect_call = tcp::ConnectCall::kConnected;  // Linux inet_accept: SS_CONNECTED
    if (peer != nullptr) *peer = Endpoint{c->tuple.remote, c->tuple.remote_port};
    notify(*c, true);  // news to the host whatever its bits
    notify(*l);
    return child_id;
  }
  return base::Err{AcceptError::kWouldBlock};
}

base::Status<ConnectError> TcpLayer::connect(SocketId s, Endpoint remote, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return base::Err{ConnectError::kBadSocket};
  // Linux __inet_stream_connect: what connect() did before decides, then the TCP state.
  switch (t->connect_call) {
    case tcp::ConnectCall::kConnected: return base::Err{ConnectError::kAlreadyConnected};
    case tcp::ConnectCall::kConnecting:
      switch (t->state) {
        case TcpState::kSynSent:
        case TcpState::kSynReceived: return base::Err{ConnectError::kAlreadyInProgress};
        case TcpState::kClosed: {
          // The attempt failed (RST, timeout, ICMP): report its error once (sock_error,
          // which takes it), ECONNABORTED if send(), recv() or take_error() took it
          // already, and make the socket unconnected again (tcp_disconnect).
          const ConnectError e = t->pending_error ? connect_error_for(*t->pending_error)
                                                  : ConnectError::kConnectionAborted;
          notify(reopen(*t));  // an event the host has not taken yet now says nothing
          return base::Err{e};
        }
        default:
          // It was established meanwhile (whatever became of it since, short of
          // CLOSED): this call reports the success, later ones EISCONN.
          t->connect_call = tcp::ConnectCall::kConnected;
          return {};
      }
    case tcp::ConnectCall::kUnconnected:
      // Linux answers EISCONN for any state but CLOSED, a listener's included.
      if (t->state != TcpState::kClosed) return base::Err{ConnectError::kAlreadyConnected};
      break;
  }
  if (!remote.address.is_v4()) return base::Err{ConnectError::kUnsupportedFamily};
  const wire::Ipv4Address dst = remote.address.v4();
  if (remote.port == 0 || dst.is_unspecified() || !dst.is_unicast()) return base::Err{ConnectError::kInvalid};
  auto route = ip_.route(dst, now);
  if (!route || route->broadcast) return base::Err{ConnectError::kNoRoute};
  // The buffers before anything else is taken (a port, a TIME_WAIT tuple): without
  // them connect() fails with ENOBUFS and leaves the socket as it was.
  if (!init_buffers(*t)) return base::Err{ConnectError::kNoBuffers};
  wire::Ipv4Address src = !t->tuple.local.is_unspecified() ? t->tuple.local : route->source;
  tcp::FourTuple tuple{src, dst, t->tuple.local_port, remote.port};
  // A TIME_WAIT connection on the tuple gives way only as Linux's tcp_twsk_unique
  // lets it; the new incarnation then starts above its sequence numbers and keeps its
  // TS.Recent.
  Tcb* old = nullptr;
  if (!t->bound) {
    // RFC 6056 algorithm 4 (Linux's __inet_hash_connect): a port no other connection
    // to this destination uses, and not a listener's. A TIME_WAIT tuple that may not
    // be taken over is as good as used: the search moves on to the next port.
    auto port = table_.ports.pick(src, dst, remote.port, [&](uint16_t c) {
      Tcb* o = lookup(tcp::FourTuple{src, dst, c, remote.port});
      const bool reusable = o != nullptr && o->state == TcpState::kTimeWait && time_wait_reusable(*o, true, now);
      if (o != nullptr && !reusable) return false;
      return !port_in_use(src, c, t, false, reusable ? o : nullptr);
    });
    if (!port) return base::Err{ConnectError::kNoEphemeralPorts};
    tuple.local_port = *port;
    old = lookup(tuple);
    t->bound = true;
    table_.by_port[tuple.local_port].push_back(t);
  } else {
    old = lookup(tuple);
    if (old != nullptr && !(old->state == TcpState::kTimeWait && time_wait_reusable(*old, false, now)))
      return base::Err{ConnectError::kAddressInUse};
  }
  std::optional<uint32_t> tw_isn;
  if (old != nullptr) {
    counters_.inc(TcpCounter::kTimeWaitRecycled);
    tw_isn = tcp::isn_after_time_wait(old->snd_nxt.value());
    t->ts_recent = old->ts_recent;
    t->ts_recent_at = old->ts_recent_at;
    // Frees it, or leaves a CLOSED socket the application still holds (in whichever
    // instance it is).
    old->layer->connection_done(*old, now);
  }
  t->tuple = tuple;
  t->path.invalidate();
  t->connect_call = tcp::ConnectCall::kConnecting;
  // An error shutdown() left (tcp_disconnect's ECONNRESET) goes with the new attempt
  // (Linux tcp_connect_init clears sk_err).
  if (t->pending_error) {
    t->pending_error.reset();
    notify(*t);
  }
  hash_insert(*t);
  set_mss_from_route(*t, now);
  t->iss = SeqNum(tw_isn ? *tw_isn : table_.isn.isn(t->tuple, now));
  t->ts_offset = table_.isn.ts_offset(t->tuple);
  t->snd_una = t->snd_nxt = t->snd_max = t->iss;
  t->snd_buf_seq = t->iss + 1;
  t->ecn_recover = t->iss;
  t->state = TcpState::kSynSent;
  send_syn(*t, now);
  arm_timer(*t, tcp::RtxTimerMode::kRetransmit, now + t->rtt.rto());
  return {};
}

base::Result<size_t, SendError> TcpLayer::send(SocketId s, std::span<const uint8_t> data, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return base::Err{SendError::kBadSocket};
  if (t->pending_error) {
    const RecvError e = *t->pending_error;
    t->pending_error.reset();
    notify(*t);
    return base::Err{send_error_for(e)};
  }
  switch (t->state) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait: break;
    case TcpState::kSynSent:
    case TcpState::kSynReceived: return base::Err{SendError::kWouldBlock};
    case TcpState::kClosed:  // never connected, too: EPIPE (Linux sk_stream_wait_connect)
    default: return base::Err{SendError::kBrokenPipe};
  }
  if (t->fin_queued) return base::Err{SendError::kBrokenPipe};
  if (data.empty()) return size_t{0};
  const size_t n = t->snd.write(data);
  if (n == 0) return base::Err{SendError::kWouldBlock};
  if (!config_.send_fast_path || !send_fast(*t, now)) output(*t, now);
  if (t->snd.free() == 0) notify(*t);
  return n;
}

base::Result<size_t, RecvError> TcpLayer::recv(SocketId s, std::span<uint8_t> out, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return base::Err{RecvError::kBadSocket};
  if (t->rcv.empty()) {
    // Linux tcp_recvmsg: once the peer's FIN has arrived (SOCK_DONE) the end of the
    // stream comes before any error, so a connection reset or timed out after it
    // reads as EOF; the error stays for send() and readiness (kError).
    if (t->fin_received) return size_t{0};
    if (t->pending_error) {
      const RecvError e = *t->pending_error;
      t->pending_error.reset();
      notify(*t);
      return base::Err{e};
    }
    if (t->rd_shutdown) return size_t{0};
    if (t->state == TcpState::kListen || (t->state == TcpState::kClosed && !t->reset && !t->fin_received))
      return base::Err{RecvError::kNotConnected};
    if (t->state == TcpState::kClosed) return size_t{0};
    return base::Err{RecvError::kWouldBlock};
  }
  const size_t n = t->rcv.read(out);
  t->rcv_space_copied += n;
  if (n != 0 && t->state != TcpState::kClosed) {
    // Once per RTT, and an RTT is never taken below 1 ms: most reads skip the call.
    if (now - t->rcv_space_at >= Duration::millis(1)) autotune_rcvbuf(*t, now);
    maybe_window_update(*t, now);
  }
  if (t->rcv.empty()) notify(*t);
  return n;
}

bool TcpLayer::shutdown(SocketId s, bool read, bool write, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return false;
  // Linux inet_shutdown, by TCP state.
  switch (t->state) {
    case TcpState::kClosed:
      // ENOTCONN, for a socket never connected and for one whose connection ended
      // alike (a reset one included).
      return false;
    case TcpState::kListen:
      // SHUT_RD (or both) is tcp_disconnect: the listener stops (disconnect()) and
      // the socket may listen() or connect() again. SHUT_WR alone does nothing.
      if (read) disconnect(*t, std::nullopt, now);
      return true;
    case TcpState::kSynSent:
      // Any direction is tcp_disconnect: CLOSE without an RST (tcp_need_reset leaves
      // SYN-SENT out), ECONNRESET pending (sk_err), the port given back unless bound,
      // and the socket unconnected: the next connect() starts a new attempt.
      disconnect(*t, RecvError::kConnectionReset, now);
      return true;
    default: break;
  }
  if (read) {
    t->rd_shutdown = true;
    t->rcv.clear();
  }
  if (write && !t->fin_queued) {
    t->fin_queued = true;
    output(*t, now);
  }
  notify(*t);
  return true;
}

void TcpLayer::close(SocketId s, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return;
  t->orphan = true;
  ready_.forget(s);
  switch (t->state) {
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
      free_tcb(*t);
      return;
    default: break;
  }
  // Linux tcp_close: unread data, or SO_LINGER with a zero timeout, resets the
  // connection instead of closing it gracefully (RFC 2525 §2.17).
  if (!t->rcv.empty() || (t->linger && t->linger_time == Duration::zero())) {
    t->rcv.clear();
    abort(*t, std::nullopt, true, now);
    return;
  }
  if (t->state == TcpState::kTimeWait) {
    release_ring(t->rcv);  // nothing left to read (checked above), nobody to read it
    return;  // finishes on its timer
  }
  if (t->state == TcpState::kSynReceived && !t->parent.valid() && !t->fin_queued) {
    // An active open's SYN-RECEIVED (simultaneous open): RFC 9293 §3.10.4 and Linux
    // (tcp_close_state: SYN_RECV -> FIN_WAIT1, tcp_send_fin) send the FIN now rather
    // than after the handshake. send() refused data in SYN-RECEIVED, so the FIN sits
    // right after our SYN: <SEQ=ISS+1><ACK=RCV.NXT><CTL=FIN,ACK>. The SYN stays
    // unacknowledged (SND.UNA = ISS, syn_unacked): the SYN-ACK timer keeps running and
    // resends the SYN-ACK (tcp_timers.cc), and the ACK of our SYN completes the
    // handshake's bookkeeping in FIN-WAIT-1 (segment_arrives).
    t->fin_queued = true;
    const SeqNum fin = t->iss + 1;
    send_segment(*t, fin, 0, wire::TcpFlags::kFin | wire::TcpFlags::kAck, now);  // if it fails, the timer resends
    t->snd_nxt = t->snd_max = fin + 1;
    t->rtx.on_send(fin, fin + 1, now);
    t->fin_sent = true;
    t->fin_seq = fin;
    t->syn_unacked = true;
    set_state(*t, TcpState::kFinWait1, now);
    return;
  }
  if (!t->fin_queued) {
    t->fin_queued = true;
    output(*t, now);
  }
  // An orphan in FIN_WAIT_2 does not wait forever (tcp_fin_timeout).
  if (t->state == TcpState::kFinWait2) timers_.arm(t->wait_timer, now + config_.fin_timeout);
}

// ---- options -------------------------------------------------------------------------------

bool TcpLayer::set_nodelay(SocketId s, bool on, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  t->nodelay = on;
  if (on && t->state != TcpState::kClosed) output(*t, now);
  return true;
}

bool TcpLayer::set_cork(SocketId s, bool on, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  t->cork = on;
  if (!on && t->state != TcpState::kClosed) output(*t, now);  // uncorking pushes the partial segment
  return true;
}

bool TcpLayer::set_reuse_addr(SocketId s, bool on) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  t->reuse_addr = on;
  return true;
}

bool TcpLayer::set_congestion_control(SocketId s, std::string_view name) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  auto cc = tcp::make_congestion_control(name);
  if (!cc) return false;
  // On a connection already sending (Linux tcp_reinit_congestion_control) the new
  // algorithm starts its own state afresh but keeps cwnd and ssthresh: resetting
  // to the initial window would throttle a connection that did nothing wrong.
  if (t->cc && t->cc->cwnd() != 0) {
    cc->init(t->mss, Instant{});
    cc->adopt_window(t->cc->cwnd(), t->cc->ssthresh());
  }
  t->cc = std::move(cc);
  return true;
}

bool TcpLayer::set_keepalive(SocketId s, bool on, Instant now) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  t->keepalive = on;
  if (on) arm_keepalive(*t, now);
  else t->keepalive_timer.cancel();
  return true;
}

bool TcpLayer::set_keepalive_params(SocketId s, Duration idle, Duration interval, uint32_t probes) {
  Tcb* t = tcb(s);
  if (t == nullptr || idle <= Duration::zero() || interval <= Duration::zero() || probes == 0) return false;
  t->keepalive_idle = idle;
  t->keepalive_interval = interval;
  t->keepalive_probes = probes;
  return true;
}

bool TcpLayer::set_user_timeout(SocketId s, Duration timeout) {
  Tcb* t = tcb(s);
  if (t == nullptr || timeout < Duration::zero()) return false;
  t->user_timeout = timeout;
  return true;
}

bool TcpLayer::set_linger(SocketId s, bool on, Duration time) {
  Tcb* t = tcb(s);
  if (t == nullptr || time < Duration::zero()) return false;
  t->linger = on;
  t->linger_time = time;
  return true;
}

bool TcpLayer::set_sndbuf(SocketId s, size_t bytes) {
  Tcb* t = tcb(s);
  if (t == nullptr) return false;
  // Linux doubles the value (bookkeeping overhead); we hold payload only, so we don't.
  t->sndbuf_limit = std::clamp(bytes, config_.sndbuf_min, config_.sndbuf_max);
  return true;
}

bool TcpLayer::set_rcvbuf(SocketId s, size_t bytes) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->state != TcpState::kClosed) return false;  // before connect/listen, as the window scale depends on it
  t->rcvbuf_limit = std::clamp(bytes, config_.rcvbuf_min, config_.rcvbuf_max);
  return true;
}

std::optional<RecvError> TcpLayer::take_error(SocketId s) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->orphan) return RecvError::kBadSocket;
  // Linux SO_ERROR: sock_error(), else the soft error (xchg(&sk->sk_err_soft, 0)).
  std::optional<RecvError> e;
  if (t->pending_error) {
    std::swap(e, t->pending_error);
    notify(*t);
  } else {
    std::swap(e, t->soft_error);
  }
  return e;
}

// ---- introspection ----------------------------------------------------------------------

uint32_t TcpLayer::readiness(SocketId s) {
  Tcb* t = tcb(s);
  return t == nullptr ? uint32_t{kError | kHangup} : readiness_of(*t);
}

uint32_t TcpLayer::readiness_slow(const Tcb& tcb) {
  const Tcb* t = &tcb;
  uint32_t r = 0;
  if (t->state == TcpState::kListen) return t->accept_queue.empty() ? 0u : uint32_t{kReadable};
  if (t->state == TcpState::kClosed && t->pending_error && !t->reset && !t->fin_received) {
    // shutdown() ended a connect() (disconnect()): Linux tcp_poll says POLLERR
    // (sk_err), POLLHUP (CLOSE) and POLLOUT (an empty send queue), not POLLIN
    // (tcp_disconnect cleared sk_shutdown). Once the error is taken the socket reads
    // as a fresh one.
    return kError | kHangup | kWritable;
  }
  if (t->pending_error) r |= kError;
  if (!t->rcv.empty() || t->fin_received || t->rd_shutdown) r |= kReadable;
  const bool can_send = t->state == TcpState::kEstablished || t->state == TcpState::kCloseWait;
  if (can_send && !t->fin_queued && send_space(*t)) r |= kWritable;
  if (t->state == TcpState::kClosed && (t->reset || t->fin_received || t->pending_error)) r |= kHangup | kReadable;
  if (t->state == TcpState::kClosed && t->reset) r |= kWritable;
  if (t->fin_received && t->fin_queued) r |= kHangup;
  return r;
}

std::optional<TcpState> TcpLayer::state(SocketId s) {
  Tcb* t = tcb(s);
  if (t == nullptr) return std::nullopt;
  return t->state;
}

std::optional<Endpoint> TcpLayer::local_endpoint(SocketId s) {
  Tcb* t = tcb(s);
  if (t == nullptr) return std::nullopt;
  return Endpoint{t->tuple.local, t->tuple.local_port};
}

std::optional<Endpoint> TcpLayer::remote_endpoint(SocketId s) {
  Tcb* t = tcb(s);
  if (t == nullptr || t->tuple.remote_port == 0) return std::nullopt;
  return Endpoint{t->tuple.remote, t->tuple.remote_port};
}

std::optional<TcpInfo> TcpLayer::info(SocketId s) {
  Tcb* t = tcb(s);
  if (t == nullptr) return std::nullopt;
  TcpInfo i;
  i.state = t->state;
  i.rtt = t->rtt.srtt();
  i.rttvar = t->rtt.rttvar();
  i.rto = t->rtt.rto();
  i.min_rtt = t->rtt.has_sample() ? t->rtt.min_rtt() : Duration::zero();
  i.snd_mss = t->mss;
  i.rcv_mss = t->rcv_mss;
  i.cwnd = t->cc->cwnd();
  i.ssthresh = t->cc->ssthresh();
  i.snd_wnd = t->snd_wnd;
  i.rcv_wnd = static_cast<uint32_t>(std::max<int32_t>(0, t->rcv_adv - t->rcv_nxt));
  i.snd_wscale = t->snd_wscale;
  i.rcv_wscale = t->rcv_wscale;
  i.timestamps = t->ts_ok;
  i.sack = t->sack_ok;
  i.ecn = t->ecn_ok;
  i.retransmits = t->rto_count;
  i.total_retrans = t->total_retrans;
  i.unacked = static_cast<uint32_t>(std::max<int32_t>(0, t->snd_max - t->snd_una));
  i.lost = t->rtx.lost_bytes();
  i.sacked = t->rtx.sacked_bytes();
  i.delivered = t->delivered;
  i.bytes_acked = t->bytes_acked;
  i.bytes_received = t->bytes_received;
  i.bytes_sent = t->bytes_sent;
  i.bytes_retrans = t->bytes_retrans;
  i.segs_out = t->segs_out;
  i.segs_in = t->segs_in;
  i.recv_queued = t->rcv.size();
  i.send_queued = t->snd.size();
  i.sndbuf = t->snd.capacity();
  i.rcvbuf = t->rcv.capacity();
  i.congestion_control = t->cc->name();
  return i;
}

// ---- input demux -----------------------------------------------------------------------------

namespace {
// Header prediction's parser (the idea of Linux's tcp_parse_aligned_timestamp): a
// header without options, or with exactly NOP NOP TS(10) as every segment of a
// connection with timestamps carries when it has no SACK blocks, is read with one
// 32-bit compare. Fills `h` as TcpRepr::parse would and returns true; false (h
// untouched but for nothing it relies on) for any other layout, which the general
// parser then reads and checks. `p` holds header_len (>= 20) bytes.
bool parse_predicted(const uint8_t* p, size_t header_len, wire::TcpRepr& h) {
  constexpr uint32_t kAlignedTimestamp = (uint32_t{wire::TcpOptionKind::kNop} << 24) |
                                         (uint32_t{wire::TcpOptionKind::kNop} << 16) |
                                         (uint32_t{wire::TcpOptionKind::kTimestamps} << 8) | 10u;
  if (header_len == wire::kTcpHeaderLen + tcp::kTimestampOptionLen &&
      base::load_be<uint32_t>(p, wire::kTcpHeaderLen) == kAlignedTimestamp) {
    h.options.timestamps = std::pair{base::load_be<uint32_t>(p, wire::kTcpHeaderLen + 4),
                                     base::load_be<uint32_t>(p, wire::kTcpHeaderLen + 8)};
  } else if (header_len != wire::kTcpHeaderLen) {
    return false;
  }
  h.src_port = base::load_be<uint16_t>(p, 0);
  h.dst_port = base::load_be<uint16_t>(p, 2);
  h.seq = SeqNum(base::load_be<uint32_t>(p, 4));
  h.ack = SeqNum(base::load_be<uint32_t>(p, 8));
  h.flags = p[13];
  h.window = base::load_be<uint16_t>(p, 14);
  h.urgent_ptr = base::load_be<uint16_t>(p, 18);
  h.header_len = static_cast<uint16_t>(header_len);
  return true;
}
}  // namespace

// Inlined into input(): every received segment passes here.
[[gnu::always_inline]] inline void TcpLayer::deliver(Tcb& t, const Rx& rx, buf::Packet& segment, Instant now) {
  counters_.inc(TcpCounter::kRxSegments);
  ++t.segs_in;
  if (rx.predicted_options && t.state == TcpState::kEstablished && config_.header_prediction &&
      fast_path(t, rx, segment, now)) {
    return;
  }
  if (t.state == TcpState::kTimeWait) {
    time_wait_input(t, rx, segment, now);
  } else if (t.state == TcpState::kSynSent) {
    syn_sent_input(t, rx, segment, now);
  } else {
    segment_arrives(t, rx, segment, now);
  }
}

void TcpLayer::input(const Ipv4RxContext& ctx, buf::Packet& segment, Instant now) {
  // A segment is counted (rx_segments) by the instance it reaches: the owner of its
  // connection or listener, else this one (the host's), with the reason it was dropped.
  auto drop = [&](TcpCounter why) {
    counters_.inc(TcpCounter::kRxSegments);
    counters_.inc(why);
  };
  // TCP never answers or accepts broadcasts (RFC 1122 §4.2.3.10).
  if (ctx.broadcast || !ctx.header.src.is_unicast()) {
    drop(TcpCounter::kDropMalformed);
    return;
  }
  const size_t len = segment.len();
  if (len < wire::kTcpHeaderLen || segment.head_len() < wire::kTcpHeaderLen) {
    drop(TcpCounter::kDropMalformed);
    return;
  }
  // Unless the device verified it already (buf::Offload).
  if ((segment.offload() & buf::kRxL4ChecksumGood) == 0) {
    const uint64_t pseudo = wire::pseudo_header_v4_wide(ctx.header.src, ctx.header.dst, wire::IpProtocol::kTcp,
                                                   static_cast<uint16_t>(len));
    if (!packet_checksum_verify(segment, pseudo)) {
      drop(TcpCounter::kDropBadChecksum);
      return;
    }
  }
  const size_t header_len = size_t{static_cast<uint8_t>(segment.data()[12] >> 4)} * 4;
  if (header_len < wire::kTcpHeaderLen || header_len > len || header_len > segment.head_len()) {
    drop(TcpCounter::kDropMalformed);
    return;
  }
  Rx rx;
  rx.predicted_options = parse_predicted(segment.data(), header_len, rx.h);
  if (!rx.predicted_options) {
    auto parsed = wire::TcpRepr::parse(std::span<const uint8_t>(segment.data(), header_len), ctx.header.src,
                                       ctx.header.dst, false);
    if (!parsed) {
      // A malformed option (a length past the header, below 2, or wrong for its kind)
      // drops the whole segment and counts it. A deliberate difference from Linux,
      // whose tcp_parse_options stops at a bad length (keeping the options read so
      // far) and skips a known option of the wrong size, and keeps the segment either
      // way: we count such frames as drops (issue 4's interop test relies on it)
      // rather than act on a half-parsed header.
      drop(TcpCounter::kDropMalformed);
      return;
    }
    rx.h = *parsed;
  }
  rx.payload_len = static_cast<uint32_t>(len - header_len);
  rx.h.payload_len = static_cast<uint16_t>(rx.payload_len);
  rx.tuple = tcp::FourTuple{ctx.header.dst, ctx.header.src, rx.h.dst_port, rx.h.src_port};
  rx.ce = (ctx.header.dscp_ecn & 0x3) == 0x3;
  if (rx.h.src_port == 0 || rx.h.dst_port == 0) {
    drop(TcpCounter::kDropMalformed);
    return;
  }
  segment.trim_front(header_len);

  if (Tcb* t = lookup(rx.tuple)) {
    t->layer->deliver(*t, rx, segment, now);
    return;
  }
  if (Tcb* l = lookup_listener(rx.tuple.local, rx.tuple.local_port)) {
    TcpLayer& owner = *l->layer;
    owner.counters_.inc(TcpCounter::kRxSegments);
    owner.listen_input(*l, rx, segment, now);
    return;
  }
  // RFC 9293 §3.10.7.1: CLOSED. An RST is never answered; otherwise reset the sender.
  drop(TcpCounter::kDropNoSocket);
  if (!rx.has(wire::TcpFlags::kRst)) send_reset_for(rx);
}

namespace {
// ICMP error -> errno, as Linux's tcp_v4_err: destination unreachable through
// icmp_err_convert (codes 0-15; 4, fragmentation needed, is path MTU discovery's and
// never an error for TCP), time exceeded EHOSTUNREACH whatever the code, parameter
// problem EPROTO. Hard or soft does not matter to TCP (see on_icmp_error).
std::optional<RecvError> icmp_error(TcpIcmpError kind, uint8_t code) {
  uint8_t type = static_cast<uint8_t>(wire::Icmpv4Type::kDestUnreachable);
  switch (kind) {
    case TcpIcmpError::kTimeExceeded: type = static_cast<uint8_t>(wire::Icmpv4Type::kTimeExceeded); break;
    case TcpIcmpError::kParameterProblem: type = kIcmpv4ParameterProblem; break;
    case TcpIcmpError::kDestUnreachable: break;
  }
  const auto e = icmp_socket_error(type, code);
  if (!e) return std::nullopt;
  return e->error;
}
}  // namespace

void TcpLayer::on_icmp_error(wire::Ipv4Address src, uint16_t sport, wire::Ipv4Address dst, uint16_t dport, SeqNum seq,
                             TcpIcmpError kind, uint8_t code, Instant now) {
  // Linux tcp_v4_err. TIME_WAIT and CLOSED ignore ICMP; lookup() finds no listener.
  Tcb* t = lookup(tcp::FourTuple{src, dst, sport, dport});
  if (t == nullptr || t->state == TcpState::kTimeWait || t->state == TcpState::kClosed) return;
  // The owning instance acts (its counters, its timers); the lookup it repeats hits
  // the host table's one-entry cache.
  if (t->layer != this) return t->layer->on_icmp_error(src, sport, dst, dport, seq, kind, code, now);
  const bool net_or_host_unreachable = kind == TcpIcmpError::kDestUnreachable && (code == 0 || code == 1);
  if (t->state == TcpState::kSynReceived && t->parent.valid()) {
    // A passive open (a request socket in Linux, tcp_req_err): only an error quoting
    // our SYN-ACK counts, and only net or host unreachable, time exceeded or parameter
    // problem drops the embryonic connection, silently (no RST, nothing for accept()
    // to report).
    if (seq == t->iss && (net_or_host_unreachable || kind != TcpIcmpError::kDestUnreachable)) {
      connection_done(*t, now);
    }
    return;
  }
  // RFC 5927 §4.1 (Linux: the quoted sequence number must lie in [SND.UNA, SND.NXT]):
  // an error about a segment we have no outstanding is forged or stale.
  if (!base::seq_in_window(seq, t->snd_una, t->snd_nxt + 1)) {
    counters_.inc(TcpCounter::kIcmpOutOfWindow);
    return;
  }
  const std::optional<RecvError> error = icmp_error(kind, code);
  if (!error) return;
  if (t->state == TcpState::kSynSent || t->state == TcpState::kSynReceived) {
    // An opening connection (and an active open's SYN-RECEIVED) fails at once with
    // the converted errno, whatever the error: RFC 1122 §4.2.3.9 would only abort for
    // hard errors (and calls time exceeded and parameter problem soft), Linux aborts
    // for all.
    counters_.inc(TcpCounter::kAttemptFails);
    abort(*t, error, false, now);
    return;
  }
  // Synchronized: a soft error (RFC 1122 §4.2.3.9; Linux sk_err_soft without
  // IP_RECVERR, which we do not have), reported if the connection times out or
  // through take_error().
  t->soft_error = error;
  // RFC 6069 (Linux tcp_ld_RTO_revert): net or host unreachable for the segment at
  // SND.UNA while the RTO is backed off says the path, not congestion, lost it.
  if (net_or_host_unreachable) revert_rto_backoff(*t, seq, now);
}

void TcpLayer::set_mss_from_route(Tcb& t, Instant now) {
  auto route = ip_.route(t.tuple.remote, now);
  const uint16_t mtu = route ? route->mtu : 576;
  t.adv_mss = static_cast<uint16_t>(mtu - tcp::kIpTcpHeaders);
  t.mss = tcp::mss_for_mtu(mtu, t.peer_mss, t.ts_ok);
}

void TcpLayer::on_frag_needed(wire::Ipv4Address src, uint16_t sport, wire::Ipv4Address dst, uint16_t dport,
                              SeqNum seq, uint16_t mtu, Instant now) {
  // Linux tcp_v4_err: nothing for a listener or TIME_WAIT; lookup() finds no listener.
  Tcb* t = lookup(tcp::FourTuple{src, dst, sport, dport});
  if (t == nullptr || t->state == TcpState::kTimeWait || t->state == TcpState::kClosed) {
    counters_.inc(TcpCounter::kPmtuNoConnection);
    return;
  }
  if (t->layer != this) return t->layer->on_frag_needed(src, sport, dst, dport, seq, mtu, now);
  // RFC 5927 §4.1, applied to this message as §4.2-4.3 advise: "check that the TCP
  // sequence number contained in the payload of the ICMP error message is within the
  // range SND.UNA =< SEG.SEQ < SND.NXT". A segment too big for the path is one we
  // sent and is not yet acknowledged; anything else is forged or stale, and must move
  // neither this connection nor the path MTU every flow to dst shares.
  if (!base::seq_in_window(seq, t->snd_una, t->snd_nxt)) {
    counters_.inc(TcpCounter::kPmtuBadSeq);
    return;
  }
  ip_.update_path_mtu(dst, mtu, now);  // only ever lowers it, and never below min_pmtu
  lower_mss_to_path(*t, now);
}

void TcpLayer::lower_mss_to_path(Tcb& t, Instant now) {
  // The MSS follows the path's MTU after the update, not the reported one: the IP
  // layer has raised a small report to min_pmtu (Linux takes dst_mtu the same way).
  auto route = ip_.route(t.tuple.remote, now);
  if (!route) return;
  const uint16_t new_mss = tcp::mss_for_mtu(route->mtu, t.peer_mss, t.ts_ok);
  if (new_mss >= t.mss) return;
  t.mss = new_mss;
  if (t.cc) t.cc->set_mss(new_mss);
  // Everything in flight was too big: resend it at the new size now (Linux
  // tcp_simple_retransmit), without treating it as congestion.
  t.rtx.mark_all_lost();
  retransmit_lost(t, now);
  arm_rtx_timer(t, now);
}

}  // namespace joyride::core
