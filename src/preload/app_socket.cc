#include "app_socket.h"

#include <poll.h>
#include <sched.h>


#include "cpu_relax.h"
#include "datagram_path.h"
#include "service.h"

namespace joyride::preload {
namespace {

pthread_once_t g_sockets_once = PTHREAD_ONCE_INIT;
// One counter for every slot: an incarnation is never reused, so a handle can never
// mistake a later socket in the same slot for its own.
std::atomic<uint64_t> g_next_incarnation{1};

void allocate_table() {
  const Service& svc = service();
  const uint32_t count = svc.geometry().max_sockets;
  auto* table = new AppSocket[count];
  for (uint32_t i = 0; i < count; ++i) {
    table[i].index = i;
    table[i].shared_state = &svc.socket_shared(i);
    table[i].rx_fifo = svc.rx_fifo(i);
    table[i].tx_fifo = svc.tx_fifo(i);
    table[i].fifo_bytes = svc.geometry().fifo_bytes;
  }
  g_socket_table_size = count;
  g_socket_table.store(table, std::memory_order_release);
}

}  // namespace

std::atomic<AppSocket*> g_socket_table{nullptr};
uint32_t g_socket_table_size = 0;

void CopyLock::lock_contended() {
  for (int spins = 0;; ++spins) {
    if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) return;
    if (spins < 200) {
      cpu_relax();
    } else {
      sched_yield();  // the holder was preempted mid-copy: let it finish
    }
  }
}

AppSocket* app_socket_at(uint32_t index) {
  if (AppSocket* s = app_socket_fast(index)) return s;
  if (!service().attached()) return nullptr;
  pthread_once(&g_sockets_once, allocate_table);
  return app_socket_fast(index);
}

AppSocket* open_app_socket(uint32_t index, uint32_t generation, int fd, bool nonblocking) {
  AppSocket* s = app_socket_at(index);
  if (s == nullptr || s->live.load(std::memory_order_acquire)) return nullptr;
  pthread_mutex_lock(&s->control_lock);
  s->generation.store(generation, std::memory_order_relaxed);
  s->fd.store(fd, std::memory_order_relaxed);
  s->nonblocking.store(nonblocking, std::memory_order_relaxed);
  s->recv_timeout_ns.store(-1, std::memory_order_relaxed);
  s->send_timeout_ns.store(-1, std::memory_order_relaxed);
  s->set_connect(ConnectState::kUnconnected);
  s->shut_rd.store(false, std::memory_order_relaxed);
  s->shut_wr.store(false, std::memory_order_relaxed);
  s->reset_reported.store(false, std::memory_order_relaxed);
  s->listening.store(false, std::memory_order_relaxed);
  // The kind as the service published it when it made the socket.
  s->datagram.store((s->shared().flags.load(std::memory_order_acquire) & ipc::kDatagram) != 0,
                    std::memory_order_relaxed);
  s->kernel_twin.store(-1, std::memory_order_relaxed);  // retired by the previous close already
  s->accept_turn.store(0, std::memory_order_relaxed);
  s->options.clear();
  s->bound = false;
  s->bound_address = sockaddr_in{};
  s->incarnation.store(g_next_incarnation.fetch_add(1), std::memory_order_release);
  s->live.store(true, std::memory_order_release);
  pthread_mutex_unlock(&s->control_lock);
  return s;
}

void retire_app_socket(AppSocket& s) {
  s.recv_lock.lock();
  s.send_lock.lock();
  s.incarnation.store(g_next_incarnation.fetch_add(1), std::memory_order_release);
  s.live.store(false, std::memory_order_release);
  s.send_lock.unlock();
  s.recv_lock.unlock();
  service().wake_local_sleepers();
}

uint32_t socket_events(const AppSocket& s) {
  if (s.datagram.load(std::memory_order_relaxed)) return datagram_events(s);
  const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
  if ((f & ipc::kListening) != 0 || s.listening.load(std::memory_order_relaxed))
    return (f & ipc::kAcceptable) != 0 ? POLLIN | POLLRDNORM : 0;
  uint32_t ev = 0;
  // kRefused without kError is a failure already reported (taken by kTakeError).
  const bool failed = (f & ipc::kError) != 0 || ((f & ipc::kRefused) != 0 && s.connect() == ConnectState::kConnecting);
  if (rx_available(s) > 0 || (f & (ipc::kRdEof | ipc::kReset | ipc::kHangup)) != 0 || failed) ev |= POLLIN | POLLRDNORM;
  if (((f & ipc::kConnected) != 0 && tx_space(s) > 0) || failed || (f & ipc::kWrClosed) != 0)
    ev |= POLLOUT | POLLWRNORM;
  if ((f & ipc::kHangup) != 0) ev |= POLLHUP;
  if (failed) ev |= POLLERR;
  if ((f & ipc::kRdEof) != 0) ev |= POLLRDHUP;
  // Linux reports a socket that is neither connected, connecting nor listening as
  // writable and hung up (tcp_poll on TCP_CLOSE).
  if (s.connect() == ConnectState::kUnconnected && (f & (ipc::kConnected | ipc::kRdEof | ipc::kHangup)) == 0 && !failed)
    ev |= POLLOUT | POLLWRNORM | POLLHUP;
  return ev;
}

}  // namespace joyride::preload
