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

// The one lookup every interposed call starts with.
FdInfo lookup_fd(int fd);

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
