// send and recv on a Joyride UDP socket: one datagram is one record in the FIFO
// (ipc::DatagramHeader + payload, region.h). Linux's UDP semantics at this
// boundary: EMSGSIZE over 65507 bytes, EDESTADDRREQ unconnected without an address,
// a short buffer truncates (MSG_TRUNC in msg_flags; the rest of that datagram is
// dropped), MSG_PEEK leaves the datagram, a pending error (SO_ERROR) is returned by
// the next send or recv first. No system call while datagrams flow.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "app_socket.h"

namespace joyride::preload {

// Payload bytes sent or a negated errno. `to` may be null (the connected peer).
ssize_t datagram_send(const SocketRef& ref, const iovec* iov, int iov_count, int flags, const sockaddr* to,
                      socklen_t to_len);
// Bytes copied (with MSG_TRUNC in flags: the datagram's full length) or a negated
// errno. `from`/`from_len` and `msg_flags` may be null.
ssize_t datagram_recv(const SocketRef& ref, const iovec* iov, int iov_count, int flags, sockaddr* from,
                      socklen_t* from_len, int* msg_flags);
// Linux's FIONREAD on UDP: the size of the next datagram, 0 when none.
int datagram_next_size(const AppSocket& s);
// poll bits: readable with a record (or an error), writable when a datagram of the
// largest size would fit.
uint32_t datagram_events(const AppSocket& s);

}  // namespace joyride::preload
