// Handing a Joyride socket to the kernel under the same fd number: a kernel socket
// of the same type takes the options set so far (and the bind, for connect), is
// dup3()ed over the placeholder, and the Joyride socket is closed. After it the fd
// is an ordinary kernel socket; the caller redoes its call on the kernel.
#pragma once

#include "app_socket.h"
#include "joyride/ipc/region.h"

namespace joyride::preload {

// 0 when fd is now a kernel socket, else a negated errno (the fd is unchanged).
int move_to_kernel(int fd, const SocketRef& ref, ipc::FallbackReason reason, const char* why, bool replay_bind);

// kClose for a socket the app no longer names (closed, or handed to the kernel).
void close_service_socket(uint32_t index, uint32_t generation);

}  // namespace joyride::preload
