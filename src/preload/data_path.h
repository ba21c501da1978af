// recv and send on a Joyride socket: copies between the caller's buffers and the
// socket's FIFOs in the region, publishes the moved index with a release store and
// kicks the service. No system call while data flows; blocking follows Linux
// (O_NONBLOCK / MSG_DONTWAIT, SO_RCVTIMEO / SO_SNDTIMEO, MSG_WAITALL, EINTR rules).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include "app_socket.h"

namespace joyride::preload {

// Bytes received (0 = EOF) or a negated errno. Flags: MSG_PEEK, MSG_WAITALL,
// MSG_DONTWAIT, MSG_TRUNC (discard).
ssize_t joyride_recv(const SocketRef& ref, const iovec* iov, int iov_count, int flags);
// Bytes sent or a negated errno; EPIPE raises SIGPIPE (to the calling thread, as
// Linux) unless MSG_NOSIGNAL.
ssize_t joyride_send(const SocketRef& ref, const iovec* iov, int iov_count, int flags);
// The same for one contiguous buffer (send/write/recv/read), with a fast path for the
// common case; results identical to the iovec forms.
ssize_t joyride_send_one(const SocketRef& ref, const void* buf, size_t len, int flags);
ssize_t joyride_recv_one(const SocketRef& ref, void* buf, size_t len, int flags);

}  // namespace joyride::preload
