// epoll with Joyride members: the epoll fd stays a real kernel epoll fd (kernel fds
// in it work untouched); Joyride fds live in a preload table per epoll fd, and the
// app doorbell is in the kernel set once, so one kernel sleep covers both.
#pragma once

#include "app_socket.h"

namespace joyride::preload {

// After a fallback made `fd` a kernel socket: every epoll set that held it as a
// Joyride member gets it as a kernel member instead (same events and data), so the
// fallback keeps the app's epoll memberships.
void move_epoll_memberships_to_kernel(int fd, const SocketRef& old_ref);

// A wildcard listener's kernel twin (kernel_twin.h) joins every epoll set the
// listener is in, under a data value the preload maps back to the member; detach
// takes it out of them all (before it is shut down). Caller holds control_lock.
void attach_twin_to_epoll_sets(const SocketRef& ref, int twin);
void detach_twin_from_epoll_sets(const AppSocket& s, int twin);

// close() of an epoll fd that has a Joyride table.
void forget_epoll_set(int epfd);

}  // namespace joyride::preload
