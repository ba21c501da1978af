// fd -> what the preload knows about it, indexed by the fd number. Reads are
// lock-free (two acquire loads); the table grows in fixed chunks that are never
// freed, so a reader racing a writer reads valid memory. An fd the table knows
// nothing about is a kernel fd: that is the common case and costs one lookup.
#pragma once

#include <atomic>
#include <cstdint>

#include "app_socket.h"

namespace joyride::preload {

struct EpollSet;

enum class FdKind : uint32_t {
  kKernel = 0,   // not ours: straight to libc
  kJoyride = 1,  // a placeholder for a Joyride socket
  kEpoll = 2,    // a kernel epoll fd with Joyride members (EpollSet)
  kPrivate = 3,  // the preload's own kernel socket (a wildcard listener's twin):
                 // hidden from the app, so close()/dup2() onto it are refused
};

struct FdInfo {
  FdKind kind = FdKind::kKernel;
  SocketRef socket;            // kJoyride
  EpollSet* epoll = nullptr;   // kEpoll
};

// The table's storage, for the inline lookup below. Two levels: 4096 chunks of 4096
// entries covers 16M descriptors, far above any RLIMIT_NOFILE in use; only chunks
// that hold one of our fds are allocated, and never freed.
namespace fd_table_detail {
constexpr uint32_t kChunkBits = 12;
constexpr uint32_t kChunkSize = 1u << kChunkBits;
constexpr uint32_t kChunks = 4096;
// One word per fd: kind (2 bits) | socket index (12 bits) | incarnation (50 bits).
constexpr uint64_t kKindMask = 0x3;
constexpr int kIndexShift = 2;
constexpr uint64_t kIndexMask = 0xfff;
constexpr int kIncarnationShift = 14;
static_assert(ipc::kMaxSockets <= kIndexMask + 1);
struct Entry {
  std::atomic<uint64_t> word{0};
  std::atomic<EpollSet*> epoll{nullptr};
};
struct Chunk {
  Entry entries[kChunkSize];
};
extern std::atomic<Chunk*> g_chunks[kChunks];
}  // namespace fd_table_detail

// Everything but a Joyride socket whose table exists (epoll sets, private fds).
FdInfo lookup_fd_slow(uint64_t word, const fd_table_detail::Entry& e);

// The one lookup every interposed call starts with: inline, because every send and
// recv (and every call on a kernel fd) pays for it.
inline FdInfo lookup_fd(int fd) {
  using namespace fd_table_detail;
  if (fd < 0 || (static_cast<uint32_t>(fd) >> kChunkBits) >= kChunks) return FdInfo{};
  const Chunk* chunk = g_chunks[static_cast<uint32_t>(fd) >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return FdInfo{};
  const Entry& e = chunk->entries[static_cast<uint32_t>(fd) & (kChunkSize - 1)];
  const uint64_t w = e.word.load(std::memory_order_acquire);
  if ((w & kKindMask) == static_cast<uint64_t>(FdKind::kKernel)) return FdInfo{};
  if ((w & kKindMask) == static_cast<uint64_t>(FdKind::kJoyride)) {
    if (AppSocket* s = app_socket_fast(static_cast<uint32_t>((w >> kIndexShift) & kIndexMask))) {
      FdInfo info;
      info.kind = FdKind::kJoyride;
      info.socket.socket = s;
      info.socket.incarnation = w >> kIncarnationShift;
      return info;
    }
  }
  return lookup_fd_slow(w, e);
}

// Binds fd to a Joyride socket incarnation / to an epoll set; back to the kernel.
// False when fd is beyond the table (16M): the caller keeps it a kernel fd.
bool set_fd_joyride(int fd, const SocketRef& ref);
void set_fd_epoll(int fd, EpollSet* set);
void set_fd_kernel(int fd);
void set_fd_private(int fd);

// Every fd in [first, last] the table marks as ours (Joyride or epoll), in order:
// close_range/closefrom must close those our way.
template <typename Visit>
void for_each_known_fd(unsigned first, unsigned last, Visit visit);

unsigned known_fd_limit();  // one past the highest fd any allocated chunk covers


template <typename Visit>
void for_each_known_fd(unsigned first, unsigned last, Visit visit) {
  const unsigned limit = known_fd_limit();
  for (unsigned fd = first; fd <= last && fd < limit; ++fd)
    if (lookup_fd(static_cast<int>(fd)).kind != FdKind::kKernel) visit(static_cast<int>(fd));
}

}  // namespace joyride::preload
