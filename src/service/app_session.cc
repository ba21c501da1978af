#include "joyride/service/app_session.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>

#include "app_errno.h"
#include "joyride/ipc/wait.h"

namespace joyride::service {

using core::TcpState;

namespace {

bool connected_state(TcpState s) {
  switch (s) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
    case TcpState::kClosing:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
      return true;
    default:
      return false;
  }
}

bool send_closed_state(TcpState s) {
  switch (s) {
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kClosing:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
      return true;
    default:
      return false;
  }
}

}  // namespace

AppSession::AppSession(uint64_t id, int session_fd, pid_t pid, uid_t uid, std::string command, core::Stack& host,
                       base::Instant now, const AppLimits& limits, const ipc::RegionGeometry& geometry, void* region,
                       int app_doorbell)
    : id_(id),
      session_fd_(session_fd),
      pid_(pid),
      uid_(uid),
      command_(std::move(command)),
      limits_(limits),
      host_(host),
      buffers_(static_cast<uint8_t*>(region) + geometry.buffers_offset, geometry.buffer_bytes,
               limits.max_buffer_bytes),
      stack_(host.add_instance(now, &buffers_)),
      geometry_(geometry),
      region_(region),
      app_doorbell_(app_doorbell),
      slots_(geometry.max_sockets) {
  free_slots_.reserve(geometry.max_sockets);
  for (uint32_t i = geometry.max_sockets; i > 0; --i) free_slots_.push_back(i - 1);
}

AppSession::~AppSession() {
  host_.remove_instance(stack_);  // before buffers_, which its sockets' rings came from
  if (region_ != nullptr) ::munmap(region_, geometry_.region_bytes);
  if (app_doorbell_ >= 0) ::close(app_doorbell_);
  if (session_fd_ >= 0) ::close(session_fd_);
}

size_t AppSession::poll(base::Instant now) {
  const uint64_t before = counters_[AppCounter::kCalls] + counters_[AppCounter::kKicks];
  if (header().calls_pending.exchange(0, std::memory_order_acq_rel) != 0) serve_calls(now);
  if (header().kick_summary.load(std::memory_order_relaxed) != 0) serve_kicks(now);
  const size_t events = serve_events(now);
  return counters_[AppCounter::kCalls] + counters_[AppCounter::kKicks] - before + events;
}

size_t AppSession::serve_events(base::Instant now) {
  auto& events = events_;
  size_t total = 0;
  while (size_t n = stack_.take_events(events)) {
    for (size_t i = 0; i < n; ++i) {
      const core::SocketId socket = events[i].socket;
      const std::vector<uint32_t>* table = route_table(socket.kind);
      if (table == nullptr || socket.index >= table->size()) continue;
      const uint32_t index = (*table)[socket.index];
      // A socket the app has let go (an orphan finishing its close) has no slot.
      if (index != kNoSlot && slots_[index].in_use && slots_[index].socket == socket) on_event(index, now);
    }
    total += n;
  }
  return total;
}

std::vector<uint32_t>* AppSession::route_table(core::SocketKind kind) {
  switch (kind) {
    case core::SocketKind::kTcp: return &tcp_routes_;
    case core::SocketKind::kUdp: return &udp_routes_;
    default: return nullptr;
  }
}

void AppSession::route(core::SocketId socket, uint32_t index) {
  std::vector<uint32_t>* table = route_table(socket.kind);
  if (table == nullptr) return;
  if (socket.index >= table->size()) table->resize(size_t{socket.index} + 1 + table->size() / 2, kNoSlot);
  (*table)[socket.index] = index;
}

void AppSession::unroute(core::SocketId socket) {
  std::vector<uint32_t>* table = route_table(socket.kind);
  if (table != nullptr && socket.index < table->size()) (*table)[socket.index] = kNoSlot;
}

bool AppSession::drained() {
  if (open_sockets_ != 0) return false;
  bool busy = false;
  stack_.tcp().for_each_connection([&](core::SocketId, const core::TcpInfo& info, const core::tcp::FourTuple&) {
    busy |= info.state != TcpState::kClosed && info.state != TcpState::kTimeWait;
  });
  return !busy;
}

void AppSession::serve_calls(base::Instant now) {
  for (uint32_t i = 0; i < geometry_.call_slots; ++i) {
    ipc::CallSlot& c = call(i);
    if (c.state.load(std::memory_order_acquire) != ipc::kRequested) continue;
    serve_call(c, now);
    c.state.store(ipc::kDone, std::memory_order_seq_cst);
    if (c.waiting.load(std::memory_order_seq_cst) != 0) {
      ipc::futex_wake_all(c.state);
      counters_.inc(AppCounter::kFutexWakes);
    }
    published_ = true;
  }
}

void AppSession::serve_kicks(base::Instant now) {
  uint64_t summary = header().kick_summary.exchange(0, std::memory_order_acq_rel);
  while (summary != 0) {
    const uint32_t w = static_cast<uint32_t>(std::countr_zero(summary));
    summary &= summary - 1;
    if (w >= geometry_.kick_words) continue;  // bits past the geometry: ignored
    uint64_t bits = kick_word(w).exchange(0, std::memory_order_acq_rel);
    while (bits != 0) {
      const uint32_t index = w * 64 + static_cast<uint32_t>(std::countr_zero(bits));
      bits &= bits - 1;
      counters_.inc(AppCounter::kKicks);
      if (index < slots_.size() && slots_[index].in_use) pump(index, now);
    }
  }
}

void AppSession::on_event(uint32_t index, base::Instant now) {
  if (index >= slots_.size() || !slots_[index].in_use) return;
  Slot& s = slots_[index];
  const auto st = s.socket.valid() && s.socket.kind == core::SocketKind::kTcp ? stack_.tcp().status(s.socket)
                                                                              : std::nullopt;
  if (st && st->state == TcpState::kListen && (st->readiness & core::kReadable)) {
    shared(index).arrivals.fetch_add(1, std::memory_order_release);  // a new edge for EPOLLET
    published_ = true;
  }
  pump(index, now);
}

void AppSession::pump(uint32_t index, base::Instant now) {
  Slot& s = slots_[index];
  if (!s.socket.valid()) return;  // reset for a bad index: waits for the app's close
  if (s.udp) return pump_udp(index, s, now);
  if (!s.ever_connected) {
    const auto state = stack_.tcp().state(s.socket);
    if (state && connected_state(*state)) s.ever_connected = true;
  }
  if (s.ever_connected) {
    pump_tx(index, s, now);
    if (!s.socket.valid()) return;
    pump_rx(index, s, now);
    if (!s.socket.valid()) return;
  }
  publish_flags(index, s);
  if (s.tx_head == s.tx_tail && (s.shut_wr_pending || s.close_pending)) finish_deferred(index, s, now);
}

void AppSession::pump_tx(uint32_t index, Slot& s, base::Instant now) {
  ipc::SocketShared& sh = shared(index);
  const uint64_t tail = sh.tx.tail.load(std::memory_order_acquire);
  // The app may only move its tail forward, and never past one FIFO of what the
  // service has taken.
  if (tail < s.tx_tail || tail - s.tx_head > geometry_.fifo_bytes) return bad_index(index, now);
  s.tx_tail = tail;
  const uint64_t start = s.tx_head;
  const uint32_t size = geometry_.fifo_bytes;
  // Bytes split by the FIFO's end go to TCP corked until both pieces are in (unless
  // the app corks itself), so the wrap does not cut a short segment out of the stream.
  const bool wraps = s.tx_tail > s.tx_head && s.tx_head / size != (s.tx_tail - 1) / size;
  const bool cork = wraps && !s.cork;
  if (cork) stack_.tcp().set_cork(s.socket, true, now);
  while (s.tx_head < s.tx_tail) {
    const uint32_t off = static_cast<uint32_t>(s.tx_head % size);
    const size_t len = std::min<uint64_t>(s.tx_tail - s.tx_head, size - off);
    auto sent = stack_.tcp().send(s.socket, {tx_fifo(index) + off, len}, now);
    if (!sent) {
      if (sent.error() != core::SendError::kWouldBlock && s.pending_error == 0) {
        // The connection is gone: what the app queued can never be sent (Linux
        // drops the send queue on a reset). The app learns it from the flags.
        s.tx_head = s.tx_tail;
      }
      break;
    }
    s.tx_head += *sent;
    if (*sent < len) break;
  }
  if (cork) stack_.tcp().set_cork(s.socket, false, now);  // sends what is whole now
  if (s.tx_head != start) {
    counters_.inc(AppCounter::kBytesOut, s.tx_head - start);
    sh.tx.head.store(s.tx_head, std::memory_order_release);
    published_ = true;
  }
}

void AppSession::pump_rx(uint32_t index, Slot& s, base::Instant now) {
  ipc::SocketShared& sh = shared(index);
  const uint64_t head = sh.rx.head.load(std::memory_order_acquire);
  if (head < s.rx_head || head > s.rx_tail) return bad_index(index, now);
  s.rx_head = head;
  const uint64_t start = s.rx_tail;
  const uint32_t size = geometry_.fifo_bytes;
  while (!s.rd_eof && s.pending_error == 0) {
    const uint64_t free = size - (s.rx_tail - s.rx_head);
    if (free == 0) break;
    const uint32_t off = static_cast<uint32_t>(s.rx_tail % size);
    const size_t len = std::min<uint64_t>(free, size - off);
    auto got = stack_.tcp().recv(s.socket, {rx_fifo(index) + off, len}, now);
    if (!got) {
      if (got.error() != core::RecvError::kWouldBlock && got.error() != core::RecvError::kNotConnected)
        s.pending_error = recv_errno(got.error());
      break;
    }
    if (*got == 0) {
      s.rd_eof = true;
      break;
    }
    s.rx_tail += *got;
    if (*got < len) break;
  }
  if (s.rx_tail != start) {
    counters_.inc(AppCounter::kBytesIn, s.rx_tail - start);
    sh.rx.tail.store(s.rx_tail, std::memory_order_release);
    published_ = true;
  }
}

void AppSession::publish_flags(uint32_t index, Slot& s) {
  const auto st = stack_.tcp().status(s.socket);
  const std::optional<TcpState> state = st ? std::optional<TcpState>(st->state) : std::nullopt;
  const uint32_t ready = st ? st->readiness : uint32_t{core::kError | core::kHangup};
  uint32_t f = ipc::kOpen;
  if (state == TcpState::kListen) {
    f |= ipc::kListening;
    if (ready & core::kReadable) f |= ipc::kAcceptable;
  } else {
    if (state && connected_state(*state)) f |= ipc::kConnected;
    if (s.rd_eof) f |= ipc::kRdEof;
    if ((state && send_closed_state(*state)) || (state == TcpState::kClosed && s.ever_connected) ||
        s.shut_wr_pending)
      f |= ipc::kWrClosed;
    if ((ready & core::kError) || s.pending_error != 0) f |= ipc::kError;
    if (ready & core::kHangup) f |= ipc::kHangup;
    if (s.pending_error == ECONNRESET) f |= ipc::kReset;
    // A connection that ended (reset, or closed both ways) is shut both ways, as
    // Linux's tcp_done sets sk_shutdown: POLLRDHUP and POLLHUP with the error.
    if (state == TcpState::kClosed && s.ever_connected) f |= ipc::kRdEof | ipc::kWrClosed | ipc::kHangup;
  }
  ipc::SocketShared& sh = shared(index);
  if (s.ever_connected) {
    // FIONREAD sees what the stack still holds (the app adds its FIFO).
    sh.rx_in_stack.store(static_cast<uint32_t>(std::min<size_t>(st ? st->recv_queued : 0, UINT32_MAX)),
                         std::memory_order_relaxed);
  }
  if (f != s.flags) {
    sh.error.store(s.pending_error, std::memory_order_relaxed);
    sh.flags.store(f, std::memory_order_release);
    s.flags = f;
    published_ = true;
  }
}

void AppSession::bad_index(uint32_t index, base::Instant now) {
  if (slots_[index].udp) return udp_bad_record(index);
  // The app broke its own FIFO: reset that connection (as a corrupted socket would
  // be), keep the slot so the app sees the error, count it.
  counters_.inc(AppCounter::kBadIndex);
  Slot& s = slots_[index];
  stack_.tcp().set_linger(s.socket, true, base::Duration{});
  stack_.tcp().close(s.socket, now);
  unroute(s.socket);
  s.socket = core::SocketId{};
  s.pending_error = ECONNRESET;
  s.rd_eof = true;
  const uint32_t f = ipc::kOpen | ipc::kError | ipc::kReset | ipc::kWrClosed | ipc::kRdEof | ipc::kHangup;
  shared(index).error.store(ECONNRESET, std::memory_order_relaxed);
  shared(index).flags.store(f, std::memory_order_release);
  s.flags = f;
  s.ever_connected = false;  // no more pumping: the stack socket is gone
  published_ = true;
}

void AppSession::finish_deferred(uint32_t index, Slot& s, base::Instant now) {
  if (s.close_pending) {
    stack_.tcp().close(s.socket, now);
    free_slot(index);
    return;
  }
  s.shut_wr_pending = false;
  stack_.tcp().shutdown(s.socket, false, true, now);
  publish_flags(index, s);
}

void AppSession::close_all(base::Instant now) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.in_use) continue;
    if (s.close_pending) continue;  // already closing, draining its FIFO
    if (s.udp) {
      udp_close(i, s, now);  // what the app sent still goes out, as the kernel's would have
      continue;
    }
    if (s.ever_connected) pump_tx(i, s, now);
    if (!s.in_use || !s.socket.valid()) {
      if (s.in_use) free_slot(i);
      continue;
    }
    // Unread data (in the FIFO or still in the stack) resets, as Linux's close().
    const uint64_t head = shared(i).rx.head.load(std::memory_order_acquire);
    const bool unread = head < s.rx_tail;
    if (unread) stack_.tcp().set_linger(s.socket, true, base::Duration{});
    if (unread || s.tx_head == s.tx_tail) {
      stack_.tcp().close(s.socket, now);
      free_slot(i);
    } else {
      s.close_pending = true;  // the rest of the FIFO goes out first
    }
  }
}

void AppSession::abort_all(base::Instant now) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.in_use) continue;
    if (s.socket.valid() && s.udp) {
      stack_.udp().close(s.socket);
    } else if (s.socket.valid()) {
      stack_.tcp().set_linger(s.socket, true, base::Duration{});
      stack_.tcp().close(s.socket, now);
    }
    free_slot(i);
  }
}

int64_t AppSession::open_slot(core::SocketId socket, bool udp) {
  if (free_slots_.empty() || open_sockets_ >= limits_.max_sockets) {
    counters_.inc(AppCounter::kSocketsRefused);
    return -EMFILE;
  }
  const uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  Slot& s = slots_[index];
  const uint32_t generation = s.generation + 1;
  s = Slot{};
  s.in_use = true;
  s.udp = udp;
  s.socket = socket;
  s.generation = generation;
  s.flags = udp ? uint32_t{ipc::kOpen | ipc::kDatagram} : uint32_t{ipc::kOpen};
  ipc::SocketShared& sh = shared(index);
  sh.rx.tail.store(0, std::memory_order_relaxed);
  sh.rx.head.store(0, std::memory_order_relaxed);
  sh.tx.tail.store(0, std::memory_order_relaxed);
  sh.tx.head.store(0, std::memory_order_relaxed);
  sh.error.store(0, std::memory_order_relaxed);
  sh.rx_in_stack.store(0, std::memory_order_relaxed);
  sh.arrivals.store(0, std::memory_order_relaxed);
  sh.generation.store(generation, std::memory_order_relaxed);
  sh.flags.store(s.flags, std::memory_order_release);
  ++open_sockets_;
  counters_.inc(AppCounter::kSocketsOpened);
  route(socket, index);
  return index;
}

void AppSession::free_slot(uint32_t index) {
  Slot& s = slots_[index];
  if (!s.in_use) return;
  if (s.socket.valid()) unroute(s.socket);
  const uint32_t generation = s.generation;
  s = Slot{};
  s.generation = generation;
  shared(index).flags.store(0, std::memory_order_release);
  shared(index).generation.store(generation + 1, std::memory_order_release);  // stale handles see a mismatch
  s.generation = generation + 1;
  // The FIFOs' memory goes back to the system (the region is a memfd: this punches
  // a hole; the app's mapping reads zeros there until the slot is used again), so a
  // burst of connections does not leave the region's memory committed for good.
  if (geometry_.fifo_bytes % ipc::kFifoAlignment == 0)
    ::madvise(rx_fifo(index), uint64_t{2} * geometry_.fifo_bytes, MADV_REMOVE);
  free_slots_.push_back(index);
  --open_sockets_;
  published_ = true;
}

AppSession::Slot* AppSession::owned(uint32_t index, uint32_t generation) {
  if (index >= slots_.size()) return nullptr;
  Slot& s = slots_[index];
  if (!s.in_use || s.generation != generation || s.close_pending) return nullptr;
  return &s;
}

void AppSession::wake() {
  if (!published_) return;
  published_ = false;
  ipc::RegionHeader& h = header();
  h.wake_seq.fetch_add(1, std::memory_order_seq_cst);
  if (h.futex_waiters.load(std::memory_order_seq_cst) != 0) {
    ipc::futex_wake_all(h.wake_seq);
    counters_.inc(AppCounter::kFutexWakes);
  }
  const uint32_t sleepers = h.poll_waiters.load(std::memory_order_seq_cst);
  if (sleepers != 0 && h.poll_armed.exchange(0, std::memory_order_seq_cst) != 0) {
    // One token per sleeper (a semaphore eventfd): each takes one when it wakes.
    ipc::ring_doorbell(app_doorbell_, std::min<uint32_t>(sleepers, 1024));
    counters_.inc(AppCounter::kDoorbellRings);
  }
}

bool AppSession::set_service_sleeping(bool sleeping) {
  ipc::RegionHeader& h = header();
  h.service_sleeping.store(sleeping ? 1 : 0, std::memory_order_seq_cst);
  if (!sleeping) return false;
  return h.calls_pending.load(std::memory_order_seq_cst) != 0 || h.kick_summary.load(std::memory_order_seq_cst) != 0;
}

}  // namespace joyride::service
