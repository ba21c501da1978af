// The connection to joyrided: the lazy attach, the mapped region and its geometry
// (copied once into private memory: the header is shared and could change under us),
// the doorbells, and the process-wide facts every call consults (attached or kernel
// for good, a forked child that must not touch its parent's sockets).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "joyride/ipc/region.h"

namespace joyride::preload {

class Service {
 public:
  // Attaches on first use (thread-safe; one attempt per process). True when the
  // region is usable; false means this process runs on the kernel for good.
  bool ensure_attached();
  bool attached() const { return state_.load(std::memory_order_acquire) == kAttached; }

  const ipc::RegionGeometry& geometry() const { return geometry_; }
  ipc::RegionHeader& header() const { return *header_; }
  ipc::CallSlot& call_slot(uint32_t i) const;
  ipc::SocketShared& socket_shared(uint32_t index) const;
  uint8_t* rx_fifo(uint32_t index) const { return base_ + geometry_.rx_fifo_offset(index); }
  uint8_t* tx_fifo(uint32_t index) const { return base_ + geometry_.tx_fifo_offset(index); }
  int app_doorbell() const { return app_doorbell_; }

  // "The app moved an index of socket `index`": its kick bit, the summary bit, and
  // the service's doorbell only when it said it sleeps. No system call otherwise.
  void kick(uint32_t index) const;
  // A control call became kRequested.
  void announce_call() const;
  // Rings joyrided's doorbell if it said it sleeps (taking the flag: one ring a sleep).
  void ring_if_sleeping() const;
  // Wakes this process's own threads blocked on one socket (a close or shutdown made
  // here changes what they wait for, and the service may publish nothing about it).
  void wake_local_sleepers() const;

  void count_fallback(ipc::FallbackReason reason) const;

  // Our descriptors (session, doorbells, wildcard listeners' kernel twins): the app
  // is never told about them, and close()/dup2() onto them are refused as if they
  // were not open.
  bool is_private_fd(int fd) const;

  // The service hung up (its session socket says so): every Joyride call fails.
  bool service_gone() const;

  // Set in a fork child: the parent's Joyride sockets are not ours to drive (their
  // call slots and FIFOs are shared with the parent); new sockets go to the kernel.
  bool inherited() const { return inherited_.load(std::memory_order_relaxed); }
  void mark_inherited() { inherited_.store(true, std::memory_order_relaxed); }
  // A vfork/posix_spawn child runs in this process's memory until it execs, and no
  // atfork handler runs for it: what it closes or dup2s (Python's subprocess closes
  // every fd it does not pass) must reach only its own fd table, never this
  // preload's state or the service. One getpid() system call: call it on the
  // control path only (close, dup2, fcntl), never per send/recv.
  bool in_vfork_child() const;

 private:
  enum State : int { kUnknown = 0, kAttached = 1, kKernel = 2 };
  bool attach_now();

  std::atomic<int> state_{kUnknown};
  std::atomic<bool> inherited_{false};
  pid_t attached_pid_ = 0;  // the process that attached (set once, before any Joyride fd exists)
  uint8_t* base_ = nullptr;
  ipc::RegionHeader* header_ = nullptr;
  ipc::RegionGeometry geometry_{};
  int session_fd_ = -1;
  int app_doorbell_ = -1;
  int service_doorbell_ = -1;
};

// Inline: every send and recv asks for it (a function-local static: safe however
// early a constructor elsewhere makes the first socket call).
inline Service& service() {
  static Service instance;
  return instance;
}

// Where our own descriptors go: the numbers just below min(RLIMIT_NOFILE, 64 Ki),
// out of the way of the app's allocations (lowest free first). The attach fds take
// the top band; wildcard listeners' kernel twins a wider one below it.
inline constexpr int kServiceFdBand = 16;
inline constexpr int kTwinFdBand = 256;
// Moves fd to the lowest free number >= ceiling - band, with O_CLOEXEC, and closes
// the old number. Returns the fd to use (fd itself when there is no room).
int move_out_of_the_way(int fd, int band);

}  // namespace joyride::preload
