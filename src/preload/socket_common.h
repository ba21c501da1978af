// Small steps shared by the interposed socket calls.
#pragma once

#include <errno.h>

#include "fd_table.h"
#include "service.h"

namespace joyride::preload {

// A Joyride fd the caller may drive: not closed meanwhile, and not one a fork child
// inherited from its parent (those are the parent's to drive: EBADF here).
inline int check_usable(const FdInfo& info) {
  if (service().inherited() || !info.socket.valid()) return -EBADF;
  return 0;
}

// A fresh placeholder fd: one end of a unix socketpair (the other end is closed for
// now; fork/exec support will hand it to the service). Returns the fd or -errno.
int make_placeholder(bool cloexec, bool nonblocking);

// Opens a Joyride socket for the service socket `index` under a new placeholder and
// records it in the fd table. Returns the fd or a negated errno (the service socket
// is closed again on failure).
int adopt_service_socket(uint32_t index, uint32_t generation, bool cloexec, bool nonblocking, bool connected);

}  // namespace joyride::preload
