#include "libc_calls.h"

#include <dlfcn.h>

#include <pthread.h>

namespace joyride::preload {
namespace {

LibcCalls g_calls{};
// pthread_once rather than std::call_once: no std template instance (with default
// visibility) ends up exported from the library.
pthread_once_t g_once = PTHREAD_ONCE_INIT;

template <typename Fn>
void resolve(Fn& slot, const char* name) {
  slot = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

void resolve_all() {
  LibcCalls& c = g_calls;
  resolve(c.socket, "socket");
  resolve(c.socketpair, "socketpair");
  resolve(c.bind, "bind");
  resolve(c.listen, "listen");
  resolve(c.accept, "accept");
  resolve(c.accept4, "accept4");
  resolve(c.connect, "connect");
  resolve(c.shutdown, "shutdown");
  resolve(c.close, "close");
  resolve(c.dup, "dup");
  resolve(c.dup2, "dup2");
  resolve(c.dup3, "dup3");
  resolve(c.read, "read");
  resolve(c.write, "write");
  resolve(c.readv, "readv");
  resolve(c.writev, "writev");
  resolve(c.recv, "recv");
  resolve(c.recvfrom, "recvfrom");
  resolve(c.recvmsg, "recvmsg");
  resolve(c.send, "send");
  resolve(c.sendto, "sendto");
  resolve(c.sendmsg, "sendmsg");
  resolve(c.recvmmsg, "recvmmsg");
  resolve(c.sendmmsg, "sendmmsg");
  resolve(c.getsockname, "getsockname");
  resolve(c.getpeername, "getpeername");
  resolve(c.getsockopt, "getsockopt");
  resolve(c.setsockopt, "setsockopt");
  resolve(c.fcntl, "fcntl");
  resolve(c.fcntl64, "fcntl64");
  resolve(c.ioctl, "ioctl");
  resolve(c.poll, "poll");
  resolve(c.ppoll, "ppoll");
  resolve(c.select, "select");
  resolve(c.pselect, "pselect");
  resolve(c.epoll_create, "epoll_create");
  resolve(c.epoll_create1, "epoll_create1");
  resolve(c.epoll_ctl, "epoll_ctl");
  resolve(c.epoll_wait, "epoll_wait");
  resolve(c.epoll_pwait, "epoll_pwait");
  resolve(c.sendfile, "sendfile");
  resolve(c.sendfile64, "sendfile64");
  resolve(c.read_chk, "__read_chk");
  resolve(c.recv_chk, "__recv_chk");
  resolve(c.recvfrom_chk, "__recvfrom_chk");
  resolve(c.poll_chk, "__poll_chk");
  resolve(c.ppoll_chk, "__ppoll_chk");
  resolve(c.close_range, "close_range");
  resolve(c.closefrom, "closefrom");
  if (c.fcntl64 == nullptr) c.fcntl64 = c.fcntl;  // glibc < 2.28 has only fcntl
}

// Resolved at load as well, so the common case never takes the once-flag path; the
// lazy path covers calls made by other libraries' constructors before ours ran.
__attribute__((constructor)) void resolve_at_load() { pthread_once(&g_once, resolve_all); }

}  // namespace

const LibcCalls& libc() {
  pthread_once(&g_once, resolve_all);
  return g_calls;
}

}  // namespace joyride::preload
