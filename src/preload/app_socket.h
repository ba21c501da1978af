// The preload's private half of a Joyride socket: what Linux keeps in the file and
// the socket that the region does not hold (O_NONBLOCK, timeouts, connect state,
// the options set so far for a fallback to replay) and the app-side locks of each
// direction. One per service socket index, allocated once and never freed, so a
// thread that still holds a pointer after a close reads stale but valid memory; the
// incarnation tells it the socket it meant is gone (EBADF).
#pragma once

#include <netinet/in.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "joyride/ipc/region.h"

namespace joyride::preload {

enum class ConnectState : int {
  kUnconnected = 0,  // never connected, or a failed connect was reported
  kConnecting = 1,   // the SYN is out; completion shows in the flags
  kConnected = 2,    // reported as connected to the app (connect returned 0)
};

// One successful setsockopt, kept to be replayed on a kernel socket at fallback.
struct RecordedOption {
  int level = 0;
  int name = 0;
  socklen_t length = 0;
  unsigned char value[64] = {};
};

// The lock of one direction's copy: held only while bytes are copied into or out of
// a FIFO (never while a thread sleeps), so it is nearly always free. Uncontended it
// is one atomic exchange and one store (a pthread mutex costs ~50 instructions per
// lock/unlock pair on every send and recv); contended it spins briefly, then yields.
class CopyLock {
 public:
  void lock() {
    if (!held_.exchange(true, std::memory_order_acquire)) return;
    lock_contended();
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  void lock_contended();
  std::atomic<bool> held_{false};
};

struct AppSocket {
  uint32_t index = 0;                      // the service's socket index (fixed per slot)
  // The region's parts for this index, computed once when the table is made (the
  // region never moves while attached).
  ipc::SocketShared* shared_state = nullptr;
  uint8_t* rx_fifo = nullptr;
  uint8_t* tx_fifo = nullptr;
  uint64_t fifo_bytes = 0;
  std::atomic<uint64_t> incarnation{0};    // changes at open and at close
  std::atomic<bool> live{false};
  std::atomic<uint32_t> generation{0};     // the service's generation for this socket
  std::atomic<int> fd{-1};                 // the placeholder's number (logs only)
  std::atomic<bool> nonblocking{false};
  std::atomic<int64_t> recv_timeout_ns{-1};  // SO_RCVTIMEO; -1 = none
  std::atomic<int64_t> send_timeout_ns{-1};  // SO_SNDTIMEO
  std::atomic<int> connect_state{0};       // ConnectState
  std::atomic<bool> shut_rd{false};
  std::atomic<bool> shut_wr{false};
  std::atomic<bool> reset_reported{false};  // ECONNRESET goes to the app once
  std::atomic<bool> listening{false};
  // A UDP socket (the service's kDatagram): its FIFOs carry records, its calls go
  // through datagram_path.h. Fixed for an incarnation.
  std::atomic<bool> datagram{false};

  // A listener bound to INADDR_ANY has a kernel twin (kernel_twin.h): a kernel
  // listener on the same port, so loopback clients reach the app too. -1 = none.
  // Written under control_lock; read lock-free through acquire_twin().
  std::atomic<int> kernel_twin{-1};
  // Threads using the twin's number right now, and a retired twin whose close waits
  // for them: the number must not be reused under a thread about to accept on it.
  // Both outlive incarnations on purpose (a user may hold an older twin).
  std::atomic<uint32_t> twin_users{0};
  std::atomic<int> twin_to_close{-1};
  // accept() alternates which side it asks first, so neither queue starves.
  std::atomic<uint32_t> accept_turn{0};
  // Bumped each time kAccept found the Joyride queue empty: readable again after
  // that is a new connection, which EPOLLET must report (the region has no
  // per-connection count for a listener, and its flags may never have dropped).
  std::atomic<uint32_t> accept_drained{0};

  // Each direction has its own lock, held only while copying (never while a thread
  // sleeps), so a close or shutdown from another thread always gets through.
  CopyLock recv_lock;
  CopyLock send_lock;
  // Guards the fields below and the control sequence of connect/fallback/close.
  pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;
  std::vector<RecordedOption> options;
  bool bound = false;
  sockaddr_in bound_address{};

  ipc::SocketShared& shared() const { return *shared_state; }
  ConnectState connect() const { return static_cast<ConnectState>(connect_state.load(std::memory_order_acquire)); }
  void set_connect(ConnectState s) { connect_state.store(static_cast<int>(s), std::memory_order_release); }
};

// A handle on one incarnation of an AppSocket: the pointer is always valid memory,
// `valid()` says whether it is still the socket the fd named.
struct SocketRef {
  AppSocket* socket = nullptr;
  uint64_t incarnation = 0;
  bool valid() const { return socket != nullptr && socket->incarnation.load(std::memory_order_acquire) == incarnation; }
};

// Takes the AppSocket for a socket the service just created (index checked against
// the geometry and against our own table); nullptr when the index is unusable.
AppSocket* open_app_socket(uint32_t index, uint32_t generation, int fd, bool nonblocking);
// Ends an incarnation: stale handles see it, threads asleep on it wake (EBADF).
// Takes both direction locks briefly so no thread is mid-copy when the FIFOs go.
void retire_app_socket(AppSocket& s);
// The AppSocket of a service index (no liveness check), or nullptr out of range.
AppSocket* app_socket_at(uint32_t index);

// The table once made (release-published), for the fd lookup on every call: an fd
// the fd table marks as Joyride implies the table exists.
extern std::atomic<AppSocket*> g_socket_table;
extern uint32_t g_socket_table_size;
inline AppSocket* app_socket_fast(uint32_t index) {
  AppSocket* t = g_socket_table.load(std::memory_order_acquire);
  return t != nullptr && index < g_socket_table_size ? &t[index] : nullptr;
}

// FIFO occupancy, clamped to the FIFO size whatever the shared indices say.
inline uint64_t rx_available(const AppSocket& s) {
  const ipc::SocketShared& sh = *s.shared_state;
  const uint64_t avail = sh.rx.tail.load(std::memory_order_acquire) - sh.rx.head.load(std::memory_order_relaxed);
  return avail > s.fifo_bytes ? s.fifo_bytes : avail;
}
inline uint64_t tx_space(const AppSocket& s) {
  const ipc::SocketShared& sh = *s.shared_state;
  const uint64_t used = sh.tx.tail.load(std::memory_order_relaxed) - sh.tx.head.load(std::memory_order_acquire);
  return used >= s.fifo_bytes ? 0 : s.fifo_bytes - used;
}

// poll(2) bits (POLLIN ... POLLRDHUP; the same values as EPOLL*) of a socket now.
uint32_t socket_events(const AppSocket& s);

}  // namespace joyride::preload
