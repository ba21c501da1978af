// The byte-moving entry points: read/write and their vector, socket and fortified
// forms, recvmmsg/sendmmsg, and sendfile into a Joyride socket.
#include <errno.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "addresses.h"
#include "control_call.h"
#include "data_path.h"
#include "datagram_path.h"
#include "fallback.h"
#include "interpose.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {
namespace {

ssize_t recv_one(const FdInfo& info, void* buf, size_t len, int flags) {
  if (const int u = check_usable(info); u < 0) return u;
  return joyride_recv_one(info.socket, buf, len, flags);
}

ssize_t send_one(const FdInfo& info, const void* buf, size_t len, int flags) {
  if (const int u = check_usable(info); u < 0) return u;
  return joyride_send_one(info.socket, buf, len, flags);
}

// recvfrom/recvmsg on a connected TCP socket name the peer when asked (Linux fills
// it from the connection; an unconnected socket gets no address, length 0).
void fill_peer(const FdInfo& info, sockaddr* from, socklen_t* from_len) {
  if (from == nullptr || from_len == nullptr) return;
  const CallAnswer r = socket_call(*info.socket.socket, ipc::CallOp::kPeerName);
  if (r.result < 0) {
    *from_len = 0;
    return;
  }
  (void)copy_address_out(from_wire(r.addr), from, from_len);
}

bool is_datagram(const FdInfo& info) { return info.socket.socket->datagram.load(std::memory_order_relaxed); }

// recvfrom on either kind: a datagram names its own source, a stream its peer.
ssize_t recv_from(const FdInfo& info, void* buf, size_t len, int flags, sockaddr* from, socklen_t* from_len) {
  if (const int u = check_usable(info); u < 0) return u;
  if (is_datagram(info)) {
    const iovec v{buf, len};
    return datagram_recv(info.socket, &v, 1, flags, from, from_len, nullptr);
  }
  const ssize_t n = joyride_recv_one(info.socket, buf, len, flags);
  if (n >= 0) fill_peer(info, from, from_len);
  return n;
}

// A datagram for an address the kernel keeps (loopback, 0.0.0.0) cannot go through
// Joyride: the socket moves to the kernel under the same fd first, as a TCP connect
// there does. 1 = moved (redo the call on the kernel), 0 = stays, < 0 = an error.
int datagram_route(int fd, const FdInfo& info, const sockaddr* to, socklen_t to_len) {
  if (to == nullptr || to_len < sizeof(sockaddr_in) || to->sa_family != AF_INET) return 0;
  sockaddr_in a;
  memcpy(&a, to, sizeof a);
  if (!is_kernel_local(a)) return 0;
  char why[96];
  snprintf(why, sizeof why, "sendto %s: the kernel's local addresses", AddressText(a).text);
  const int m = move_to_kernel(fd, info.socket, ipc::kFallbackRoute, why, true);
  return m < 0 ? m : 1;
}

ssize_t recv_msg(const FdInfo& info, msghdr* msg, int flags) {
  if (const int u = check_usable(info); u < 0) return u;
  if (msg == nullptr) return -EFAULT;
  if (is_datagram(info)) {
    const bool named = msg->msg_name != nullptr;
    int msg_flags = 0;
    const ssize_t n = datagram_recv(info.socket, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                                    named ? static_cast<sockaddr*>(msg->msg_name) : nullptr,
                                    named ? &msg->msg_namelen : nullptr, &msg_flags);
    if (n < 0) return n;
    msg->msg_controllen = 0;  // no ancillary data is produced here
    msg->msg_flags = msg_flags;
    return n;
  }
  const ssize_t n = joyride_recv(info.socket, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
  if (n < 0) return n;
  if (msg->msg_name != nullptr) fill_peer(info, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen);
  msg->msg_controllen = 0;  // no ancillary data is produced for TCP here
  msg->msg_flags = 0;
  return n;
}

// 1 in `moved` when the socket went to the kernel (the caller redoes the call there).
ssize_t send_msg(int fd, const FdInfo& info, const msghdr* msg, int flags, bool& moved) {
  moved = false;
  if (const int u = check_usable(info); u < 0) return u;
  if (msg == nullptr) return -EFAULT;
  if (is_datagram(info)) {
    const auto* to = static_cast<const sockaddr*>(msg->msg_name);
    const int r = datagram_route(fd, info, to, msg->msg_namelen);
    if (r != 0) {
      moved = r > 0;
      return r < 0 ? r : 0;
    }
    return datagram_send(info.socket, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags, to, msg->msg_namelen);
  }
  // A connected TCP socket ignores msg_name, as Linux does.
  return joyride_send(info.socket, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
}

// File -> Joyride socket: read a chunk of the file, send it, and put back (lseek)
// what the socket did not take when the file position is the one in use.
ssize_t send_file(const FdInfo& info, int in_fd, off64_t* offset, size_t count) {
  if (const int u = check_usable(info); u < 0) return u;
  if (lookup_fd(in_fd).kind == FdKind::kJoyride) return -EINVAL;  // a socket cannot be a sendfile source
  constexpr size_t kChunk = 64 * 1024;
  uint8_t* buffer = static_cast<uint8_t*>(::malloc(kChunk));
  if (buffer == nullptr) return -ENOMEM;
  size_t done = 0;
  ssize_t error = 0;
  while (done < count) {
    const size_t want = count - done < kChunk ? count - done : kChunk;
    const ssize_t got = offset != nullptr ? ::pread64(in_fd, buffer, want, *offset) : libc().read(in_fd, buffer, want);
    if (got < 0) {
      error = -errno;
      break;
    }
    if (got == 0) break;
    const iovec v{buffer, static_cast<size_t>(got)};
    const ssize_t sent = joyride_send(info.socket, &v, 1, 0);
    const ssize_t taken = sent > 0 ? sent : 0;
    if (offset != nullptr) *offset += taken;
    else if (taken < got) (void)::lseek64(in_fd, taken - got, SEEK_CUR);
    done += static_cast<size_t>(taken);
    if (sent < 0) {
      error = sent;
      break;
    }
    if (sent < got) break;  // a non-blocking socket is full: report what went
  }
  ::free(buffer);
  return done > 0 ? static_cast<ssize_t>(done) : error;
}

}  // namespace
}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

JOYRIDE_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().read(fd, buf, len);
  return finish_call(recv_one(info, buf, len, 0));
}

JOYRIDE_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().write(fd, buf, len);
  return finish_call(send_one(info, buf, len, 0));
}

JOYRIDE_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().readv(fd, iov, count);
  if (const int u = check_usable(info); u < 0) return finish_call<ssize_t>(u);
  return finish_call(joyride_recv(info.socket, iov, count, 0));
}

JOYRIDE_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().writev(fd, iov, count);
  if (const int u = check_usable(info); u < 0) return finish_call<ssize_t>(u);
  return finish_call(joyride_send(info.socket, iov, count, 0));
}

JOYRIDE_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().recv(fd, buf, len, flags);
  return finish_call(recv_one(info, buf, len, flags));
}

JOYRIDE_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* from_len) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().recvfrom(fd, buf, len, flags, from, from_len);
  return finish_call(recv_from(info, buf, len, flags, from, from_len));
}

JOYRIDE_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().recvmsg(fd, msg, flags);
  return finish_call(recv_msg(info, msg, flags));
}

JOYRIDE_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().send(fd, buf, len, flags);
  return finish_call(send_one(info, buf, len, flags));
}

JOYRIDE_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t to_len) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().sendto(fd, buf, len, flags, to, to_len);
  if (const int u = check_usable(info); u < 0) return finish_call<ssize_t>(u);
  if (!is_datagram(info)) return finish_call(send_one(info, buf, len, flags));  // the address is ignored on TCP
  const int r = datagram_route(fd, info, to, to_len);
  if (r > 0) return libc().sendto(fd, buf, len, flags, to, to_len);
  if (r < 0) return finish_call<ssize_t>(r);
  const iovec v{const_cast<void*>(buf), len};
  return finish_call(datagram_send(info.socket, &v, 1, flags, to, to_len));
}

JOYRIDE_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().sendmsg(fd, msg, flags);
  bool moved = false;
  const ssize_t n = send_msg(fd, info, msg, flags, moved);
  if (moved) return libc().sendmsg(fd, msg, flags);
  return finish_call(n);
}

// recvmmsg/sendmmsg on a Joyride socket (a stream or datagrams): one message after the other; after the
// first, only what is there without waiting (MSG_WAITFORONE's rule applied always,
// so a blocking call never hangs with messages already received). An error after
// the first message ends the batch and is not reported, as Linux.
JOYRIDE_EXPORT int recvmmsg(int fd, mmsghdr* msgs, unsigned int count, int flags, timespec* timeout) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().recvmmsg(fd, msgs, count, flags, timeout);
  if (msgs == nullptr && count > 0) return finish_call(-EFAULT);
  unsigned int done = 0;
  for (; done < count; ++done) {
    const int f = (flags & ~MSG_WAITFORONE) | (done > 0 ? MSG_DONTWAIT : 0);
    const ssize_t n = recv_msg(info, &msgs[done].msg_hdr, f);
    if (n < 0) {
      if (done == 0) return finish_call(static_cast<int>(n));
      break;
    }
    msgs[done].msg_len = static_cast<unsigned int>(n);
    if (n == 0 && !is_datagram(info)) {
      ++done;
      break;  // EOF: nothing more will come (an empty datagram is just one)
    }
  }
  return static_cast<int>(done);
}

JOYRIDE_EXPORT int sendmmsg(int fd, mmsghdr* msgs, unsigned int count, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().sendmmsg(fd, msgs, count, flags);
  if (msgs == nullptr && count > 0) return finish_call(-EFAULT);
  unsigned int done = 0;
  for (; done < count; ++done) {
    bool moved = false;
    const ssize_t n = send_msg(fd, info, &msgs[done].msg_hdr, flags, moved);
    // Handed to the kernel: it sends the rest of the batch.
    if (moved) {
      const int rest = libc().sendmmsg(fd, msgs + done, count - done, flags);
      return rest < 0 ? (done > 0 ? static_cast<int>(done) : rest) : static_cast<int>(done) + rest;
    }
    if (n < 0) {
      if (done == 0) return finish_call(static_cast<int>(n));
      break;
    }
    msgs[done].msg_len = static_cast<unsigned int>(n);
  }
  return static_cast<int>(done);
}

JOYRIDE_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buf_len) {
  const FdInfo info = lookup_fd(fd);
  // An overflow (or a kernel fd) goes to libc's own check, which aborts as it should.
  if (info.kind != FdKind::kJoyride || len > buf_len) return libc().read_chk(fd, buf, len, buf_len);
  return finish_call(recv_one(info, buf, len, 0));
}

JOYRIDE_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buf_len, int flags) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride || len > buf_len) return libc().recv_chk(fd, buf, len, buf_len, flags);
  return finish_call(recv_one(info, buf, len, flags));
}

JOYRIDE_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buf_len, int flags, sockaddr* from,
                                      socklen_t* from_len) {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride || len > buf_len)
    return libc().recvfrom_chk(fd, buf, len, buf_len, flags, from, from_len);
  return finish_call(recv_from(info, buf, len, flags, from, from_len));
}

JOYRIDE_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
  const FdInfo info = lookup_fd(out_fd);
  if (info.kind != FdKind::kJoyride) return libc().sendfile(out_fd, in_fd, offset, count);
  off64_t wide = offset != nullptr ? *offset : 0;
  const ssize_t n = send_file(info, in_fd, offset != nullptr ? &wide : nullptr, count);
  if (offset != nullptr) *offset = static_cast<off_t>(wide);
  return finish_call(n);
}

JOYRIDE_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
  const FdInfo info = lookup_fd(out_fd);
  if (info.kind != FdKind::kJoyride) return libc().sendfile64(out_fd, in_fd, offset, count);
  return finish_call(send_file(info, in_fd, offset, count));
}
