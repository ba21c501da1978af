#include "joyride/service/builtin_services.h"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdio>

#include "joyride/core/errors.h"

namespace joyride::service {

namespace {

using core::SocketId;

// The largest UDP payload (65535 - IP header - UDP header): a datagram is never
// truncated on its way through echo.
constexpr size_t kScratchBytes = core::UdpLayer::kMaxPayload;

// An empty echo buffer would read nothing and take that for the peer's FIN.
BuiltinServiceLimits checked(BuiltinServiceLimits l) {
  l.echo_buffer = std::clamp<size_t>(l.echo_buffer, 1, UINT32_MAX);
  return l;
}

}  // namespace

std::string_view to_string(Service s) {
  switch (s) {
    case Service::kEcho: return "echo";
    case Service::kDiscard: return "discard";
    case Service::kChargen: return "chargen";
  }
  return "?";
}

std::string_view to_string(Transport t) { return t == Transport::kTcp ? "tcp" : "udp"; }

std::string_view to_string(DiscardEnd e) {
  switch (e) {
    case DiscardEnd::kFin: return "fin";
    case DiscardEnd::kReset: return "reset";
    case DiscardEnd::kError: return "error";
    case DiscardEnd::kOperator: return "operator";
    case DiscardEnd::kStopped: return "stopped";
  }
  return "?";
}

std::string to_string(const core::Endpoint& e) { return e.address.to_string() + ":" + std::to_string(e.port); }

std::optional<core::Endpoint> parse_endpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto address = wire::Ipv4Address::parse(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  uint32_t port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!address || port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535)
    return std::nullopt;
  return core::Endpoint{*address, static_cast<uint16_t>(port)};
}

std::string discard_last_line(const std::optional<DiscardRecord>& r) {
  if (!r) return "discard_last none";
  char crc[16] = "off";
  if (r->crc32) std::snprintf(crc, sizeof crc, "0x%08x", *r->crc32);
  return "discard_last remote=" + to_string(r->remote) + " bytes=" + std::to_string(r->bytes) + " crc32=" + crc +
         " end=" + std::string(to_string(r->end));
}

std::string StartError::to_string() const {
  std::string s;
  for (const StartFailure& f : list()) {
    if (!s.empty()) s += "; ";
    s += std::string(service::to_string(f.service)) + "/" + std::string(service::to_string(f.transport)) +
         " port " + std::to_string(f.port) + ": " + std::string(f.step) + ": " + std::string(f.reason);
  }
  return s;
}

BuiltinServiceRunner::BuiltinServiceRunner(core::Stack& stack, const BuiltinServices& config,
                                           base::RandomSource& random, const BuiltinServiceLimits& limits)
    : stack_(stack), config_(config), random_(random), limits_(checked(limits)) {
  scratch_.resize(kScratchBytes);
}

bool BuiltinServiceRunner::enabled(Service s) const {
  switch (s) {
    case Service::kEcho: return config_.echo;
    case Service::kDiscard: return config_.discard;
    case Service::kChargen: return config_.chargen;
  }
  return false;
}

uint16_t BuiltinServiceRunner::port(Service s) const {
  switch (s) {
    case Service::kEcho: return config_.echo_port;
    case Service::kDiscard: return config_.discard_port;
    case Service::kChargen: return config_.chargen_port;
  }
  return 0;
}

// ---- start and stop ----------------------------------------------------------------------

base::Status<StartError> BuiltinServiceRunner::start(base::Instant now) {
  assert(!running_ && "start() twice without stop()");
  if (running_) return {};
  running_ = true;
  StartError error;
  for (Service s : {Service::kEcho, Service::kDiscard, Service::kChargen}) {
    if (!enabled(s)) continue;
    start_tcp(s, now, error);
    start_udp(s, error);
  }
  if (error.count != 0) return base::Err{error};
  return {};
}

void BuiltinServiceRunner::start_tcp(Service s, base::Instant now, StartError& error) {
  (void)now;
  auto& tcp = stack_.tcp();
  auto fail = [&](std::string_view step, std::string_view reason) {
    error.failures[error.count++] = StartFailure{s, Transport::kTcp, port(s), step, reason};
  };
  auto sock = tcp.open();
  if (!sock) return fail("open", core::to_string(sock.error()));
  if (auto b = tcp.bind(*sock, core::Endpoint{wire::Ipv4Address(), port(s)}); !b) {
    tcp.close(*sock, now);
    return fail("bind", core::to_string(b.error()));
  }
  if (auto l = tcp.listen(*sock, static_cast<int>(kListenBacklog)); !l) {
    tcp.close(*sock, now);
    return fail("listen", core::to_string(l.error()));
  }
  endpoints_[static_cast<size_t>(s)].tcp_listener = *sock;
}

void BuiltinServiceRunner::start_udp(Service s, StartError& error) {
  auto& udp = stack_.udp();
  auto fail = [&](std::string_view step, std::string_view reason) {
    error.failures[error.count++] = StartFailure{s, Transport::kUdp, port(s), step, reason};
  };
  auto sock = udp.open();
  if (!sock) return fail("open", core::to_string(sock.error()));
  if (auto b = udp.bind(*sock, core::Endpoint{wire::Ipv4Address(), port(s)}); !b) {
    udp.close(*sock);
    return fail("bind", core::to_string(b.error()));
  }
  endpoints_[static_cast<size_t>(s)].udp = *sock;
}

void BuiltinServiceRunner::stop(base::Instant now) {
  auto& tcp = stack_.tcp();
  for (uint32_t slot = 0; slot < table_.size(); ++slot) {
    if (!table_[slot].in_use) continue;
    // SO_LINGER with a zero timeout: close() resets instead of closing gracefully.
    (void)tcp.set_linger(table_[slot].socket, true, base::Duration::zero());
    release(slot, DiscardEnd::kStopped, now);
  }
  for (Endpoints& e : endpoints_) {
    if (e.tcp_listener.valid()) tcp.close(e.tcp_listener, now);
    if (e.udp.valid()) stack_.udp().close(e.udp);
    e = Endpoints{};
  }
  running_ = false;
}

base::CounterSet<BuiltinCounter> BuiltinServiceRunner::counters() const {
  base::CounterSet<BuiltinCounter> c = counters_;
  for (Service s : {Service::kEcho, Service::kDiscard, Service::kChargen})
    c.inc(builtin_counter(s, ServiceCounter::kTcpActive), active_[static_cast<size_t>(s)]);
  return c;
}

// ---- events --------------------------------------------------------------------------------

bool BuiltinServiceRunner::on_event(const core::SocketEvent& event, base::Instant now) {
  if (!running_) return false;
  const SocketId s = event.socket;
  for (Service service : {Service::kEcho, Service::kDiscard, Service::kChargen}) {
    const Endpoints& e = endpoints_[static_cast<size_t>(service)];
    if (e.tcp_listener.valid() && s == e.tcp_listener) {
      accept_all(service, now);
      return true;
    }
    if (e.udp.valid() && s == e.udp) {
      udp_input(service, now);
      return true;
    }
  }
  // The readiness bits are not looked at: serving reads and writes until the calls
  // would block, which covers whatever changed (data, space, FIN, reset).
  const uint32_t slot = slot_of(s);
  if (slot == kNoSlot) return false;
  serve(slot, now);
  return true;
}

void BuiltinServiceRunner::accept_all(Service s, base::Instant now) {
  auto& tcp = stack_.tcp();
  const SocketId listener = endpoints_[static_cast<size_t>(s)].tcp_listener;
  for (;;) {
    core::Endpoint peer;
    auto child = tcp.accept(listener, &peer);
    if (!child) {
      if (child.error() != core::AcceptError::kWouldBlock) count(s, ServiceCounter::kTcpErrors);
      return;
    }
    if (active_[static_cast<size_t>(s)] >= limits_.max_connections) {
      tcp.close(*child, now);
      count(s, ServiceCounter::kTcpOverLimit);
      continue;
    }
    count(s, ServiceCounter::kTcpAccepted);
    // Data (and a FIN) may have arrived with the handshake, and chargen starts at once.
    serve(take_slot(s, *child, peer), now);
  }
}

// RFC 862/863/864, the UDP halves: one reply per datagram (none for discard).
void BuiltinServiceRunner::udp_input(Service s, base::Instant now) {
  auto& udp = stack_.udp();
  const SocketId sock = endpoints_[static_cast<size_t>(s)].udp;
  for (;;) {
    auto r = udp.recv_from(sock, scratch_);
    if (!r) {
      if (r.error() != core::RecvError::kWouldBlock) count(s, ServiceCounter::kUdpErrors);
      return;
    }
    count(s, ServiceCounter::kUdpDatagramsIn);
    count(s, ServiceCounter::kUdpBytesIn, r->datagram);
    if (s == Service::kDiscard) continue;
    // Two services answering each other (echo to chargen, echo to echo) would bounce
    // datagrams for ever: like inetd, never answer a built-in service's port, nor
    // port 0, which cannot be answered.
    const uint16_t from = r->from.port;
    if (from == 0 || (config_.echo && from == config_.echo_port) ||
        (config_.chargen && from == config_.chargen_port) || (config_.discard && from == config_.discard_port)) {
      count(s, ServiceCounter::kUdpErrors);
      continue;
    }
    std::span<const uint8_t> reply(scratch_.data(), r->bytes);
    if (s == Service::kChargen) reply = pattern_.from(0).first(random_.uniform(kMaxUdpChargen + 1));
    auto sent = udp.send_to(sock, reply, r->from, now);
    if (!sent) {
      count(s, ServiceCounter::kUdpErrors);
      continue;
    }
    count(s, ServiceCounter::kUdpDatagramsOut);
    count(s, ServiceCounter::kUdpBytesOut, reply.size());
  }
}

// ---- the connection table ------------------------------------------------------------------

uint32_t BuiltinServiceRunner::take_slot(Service s, SocketId socket, const core::Endpoint& remote) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(table_.size());
    table_.emplace_back();
  }
  Connection& c = table_[slot];
  c.socket = socket;
  c.service = s;
  c.in_use = true;
  c.eof = false;
  c.pattern_offset = 0;
  c.head = c.tail = 0;
  c.crc = 0;  // zlib: the CRC of nothing
  c.bytes_in = 0;
  c.remote = remote;
  if (s == Service::kEcho && !c.buffer) c.buffer = std::make_unique<uint8_t[]>(limits_.echo_buffer);
  if (socket.index >= slot_by_index_.size())
    slot_by_index_.resize(size_t{socket.index} + 1 + slot_by_index_.size() / 2, kNoSlot);
  slot_by_index_[socket.index] = slot;
  ++active_[static_cast<size_t>(s)];
  return slot;
}

uint32_t BuiltinServiceRunner::slot_of(SocketId socket) const {
  if (socket.kind != core::SocketKind::kTcp || socket.index >= slot_by_index_.size()) return kNoSlot;
  const uint32_t slot = slot_by_index_[socket.index];
  // A stale event names an older generation of the socket's slab slot.
  if (slot == kNoSlot || !table_[slot].in_use || !(table_[slot].socket == socket)) return kNoSlot;
  return slot;
}

void BuiltinServiceRunner::release(uint32_t slot, DiscardEnd end, base::Instant now) {
  Connection& c = table_[slot];
  if (c.service == Service::kDiscard) {
    last_discard_ = DiscardRecord{c.remote, c.bytes_in,
                                  config_.discard_checksum ? std::optional<uint32_t>(c.crc) : std::nullopt, end};
  }
  stack_.tcp().close(c.socket, now);
  slot_by_index_[c.socket.index] = kNoSlot;
  c.in_use = false;
  c.socket = SocketId{};
  --active_[static_cast<size_t>(c.service)];
  free_slots_.push_back(slot);
}

void BuiltinServiceRunner::drop(uint32_t slot, DiscardEnd end, base::Instant now) {
  count(table_[slot].service, ServiceCounter::kTcpErrors);
  release(slot, end, now);
}

DiscardEnd BuiltinServiceRunner::end_of(core::RecvError e) {
  return e == core::RecvError::kConnectionReset ? DiscardEnd::kReset : DiscardEnd::kError;
}

size_t BuiltinServiceRunner::close_connections(const core::Endpoint& remote, CloseMode mode, base::Instant now) {
  auto& tcp = stack_.tcp();
  size_t closed = 0;
  for (uint32_t slot = 0; slot < table_.size(); ++slot) {
    Connection& c = table_[slot];
    if (!c.in_use || !(c.remote == remote)) continue;
    ++closed;
    if (mode == CloseMode::kReset) {
      (void)tcp.set_linger(c.socket, true, base::Duration::zero());
    } else {
      // close() with unread bytes would reset (RFC 2525 §2.17): read what is there
      // (a discard connection counts and checksums it, as it would have), drop any
      // unsent echo bytes, and queue the FIN.
      for (;;) {
        auto r = tcp.recv(c.socket, scratch_, now);
        if (!r || *r == 0) break;
        account_input(c, *r);
      }
      (void)tcp.shutdown(c.socket, false, true, now);
    }
    release(slot, DiscardEnd::kOperator, now);
  }
  return closed;
}

// ---- serving a connection ------------------------------------------------------------------

void BuiltinServiceRunner::serve(uint32_t slot, base::Instant now) {
  switch (table_[slot].service) {
    case Service::kEcho: return serve_echo(slot, now);
    case Service::kDiscard: return serve_discard(slot, now);
    case Service::kChargen: return serve_chargen(slot, now);
  }
}

// RFC 862: send back what was read before reading more. The buffer is refilled only
// once it has been sent in full, so a peer that does not read stops this side reading
// and its own sends meet a closed window.
void BuiltinServiceRunner::serve_echo(uint32_t slot, base::Instant now) {
  auto& tcp = stack_.tcp();
  Connection& c = table_[slot];
  for (;;) {
    while (c.head < c.tail) {
      auto r = tcp.send(c.socket, std::span<const uint8_t>(c.buffer.get() + c.head, c.tail - c.head), now);
      if (!r) {
        if (r.error() != core::SendError::kWouldBlock) drop(slot, DiscardEnd::kError, now);
        return;  // resumed by the writable event
      }
      if (*r == 0) return;
      c.head += static_cast<uint32_t>(*r);
      count(Service::kEcho, ServiceCounter::kTcpBytesOut, *r);
    }
    c.head = c.tail = 0;
    if (c.eof) {
      // Everything owed is queued: our FIN follows it, and the stack finishes the
      // close on its own once the socket is let go.
      (void)tcp.shutdown(c.socket, false, true, now);
      release(slot, DiscardEnd::kFin, now);
      return;
    }
    auto r = tcp.recv(c.socket, std::span<uint8_t>(c.buffer.get(), limits_.echo_buffer), now);
    if (!r) {
      if (r.error() != core::RecvError::kWouldBlock) drop(slot, end_of(r.error()), now);
      return;
    }
    if (*r == 0) {
      c.eof = true;
      continue;
    }
    c.tail = static_cast<uint32_t>(*r);
    c.bytes_in += *r;
    count(Service::kEcho, ServiceCounter::kTcpBytesIn, *r);
  }
}

bool BuiltinServiceRunner::drain_input(uint32_t slot, base::Instant now) {
  auto& tcp = stack_.tcp();
  Connection& c = table_[slot];
  for (;;) {
    auto r = tcp.recv(c.socket, scratch_, now);
    if (!r) {
      if (r.error() == core::RecvError::kWouldBlock) return true;
      drop(slot, end_of(r.error()), now);
      return false;
    }
    if (*r == 0) {  // the peer's FIN: nothing unread, so close() is graceful
      release(slot, DiscardEnd::kFin, now);
      return false;
    }
    account_input(c, *r);
  }
}

void BuiltinServiceRunner::account_input(Connection& c, size_t n) {
  count(c.service, ServiceCounter::kTcpBytesIn, n);
  c.bytes_in += n;
  // n is at most scratch_.size() (< 2^16), within zlib's uInt.
  if (c.service == Service::kDiscard && config_.discard_checksum)
    c.crc = static_cast<uint32_t>(::crc32(c.crc, scratch_.data(), static_cast<uInt>(n)));
}

// RFC 863.
void BuiltinServiceRunner::serve_discard(uint32_t slot, base::Instant now) { (void)drain_input(slot, now); }

// RFC 864: received data is thrown away (it must still be read, to see the FIN and
// to keep the peer's window open); the pattern goes out until send() would block.
// pattern_offset makes a partial send continue mid-line.
void BuiltinServiceRunner::serve_chargen(uint32_t slot, base::Instant now) {
  if (!drain_input(slot, now)) return;
  auto& tcp = stack_.tcp();
  Connection& c = table_[slot];
  for (;;) {
    auto r = tcp.send(c.socket, pattern_.from(c.pattern_offset), now);
    if (!r) {
      if (r.error() != core::SendError::kWouldBlock) drop(slot, DiscardEnd::kError, now);
      return;  // resumed by the writable event
    }
    if (*r == 0) return;
    c.pattern_offset = static_cast<uint32_t>((c.pattern_offset + *r) % ChargenPattern::kPeriod);
    count(Service::kChargen, ServiceCounter::kTcpBytesOut, *r);
  }
}

}  // namespace joyride::service
