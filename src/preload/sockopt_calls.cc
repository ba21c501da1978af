// getsockopt / setsockopt on Joyride sockets. The preload answers what it owns
// (SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_RCVTIMEO, SO_SNDTIMEO), the
// service the rest; every option set successfully is recorded so a fallback to the
// kernel can replay it.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include "control_call.h"
#include "interpose.h"
#include "libc_calls.h"
#include "socket_common.h"

namespace joyride::preload {
namespace {

// SO_RCVTIMEO_NEW/SO_SNDTIMEO_NEW (y2038 names) carry the same 16-byte layout on
// 64-bit Linux; both spellings mean the same option here.
#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif

bool is_recv_timeout(int level, int name) {
  return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW);
}
bool is_send_timeout(int level, int name) {
  return level == SOL_SOCKET && (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW);
}

void record_option(AppSocket& s, int level, int name, const void* value, socklen_t length) {
  RecordedOption o;
  o.level = level;
  o.name = name;
  o.length = length < sizeof o.value ? length : static_cast<socklen_t>(sizeof o.value);
  std::memcpy(o.value, value, o.length);
  pthread_mutex_lock(&s.control_lock);
  // The latest value wins: replace an earlier setting of the same option.
  bool replaced = false;
  for (RecordedOption& old : s.options) {
    if (old.level == level && old.name == name) {
      old = o;
      replaced = true;
    }
  }
  if (!replaced) s.options.push_back(o);
  pthread_mutex_unlock(&s.control_lock);
}

// Linux's sock_set_timeout: {0,0} = no timeout, a negative time = 0 (never wait),
// usec out of range = EDOM.
int parse_timeout(const void* value, socklen_t length, int64_t& out_ns) {
  if (length < sizeof(timeval)) return -EINVAL;
  timeval tv;
  std::memcpy(&tv, value, sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return -EDOM;
  if (tv.tv_sec < 0) {
    out_ns = 0;
  } else if (tv.tv_sec == 0 && tv.tv_usec == 0) {
    out_ns = -1;
  } else {
    out_ns = int64_t{tv.tv_sec} * 1'000'000'000 + int64_t{tv.tv_usec} * 1000;
  }
  return 0;
}

// Linux copies an int option back truncated to the caller's length.
int put_int(int v, void* value, socklen_t* length) {
  if (static_cast<int>(*length) < 0) return -EINVAL;
  const socklen_t n = *length < sizeof v ? *length : static_cast<socklen_t>(sizeof v);
  std::memcpy(value, &v, n);
  *length = n;
  return 0;
}

int put_bytes(const void* bytes, socklen_t full, void* value, socklen_t* length) {
  if (static_cast<int>(*length) < 0) return -EINVAL;
  const socklen_t n = *length < full ? *length : full;
  std::memcpy(value, bytes, n);
  *length = n;
  return 0;
}

int put_timeout(int64_t ns, void* value, socklen_t* length) {
  timeval tv{};
  if (ns > 0) {
    tv.tv_sec = ns / 1'000'000'000;
    tv.tv_usec = (ns % 1'000'000'000) / 1000;
  }
  return put_bytes(&tv, sizeof tv, value, length);
}

int joyride_setsockopt(const FdInfo& info, int level, int name, const void* value, socklen_t length) {
  if (const int u = check_usable(info); u < 0) return u;
  AppSocket& s = *info.socket.socket;
  if (value == nullptr && length > 0) return -EFAULT;
  if (is_recv_timeout(level, name) || is_send_timeout(level, name)) {
    int64_t ns = -1;
    if (const int p = parse_timeout(value, length, ns); p < 0) return p;
    (is_recv_timeout(level, name) ? s.recv_timeout_ns : s.send_timeout_ns).store(ns);
    record_option(s, level, name, value, length);
    return 0;
  }
  CallAnswer r;
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    // The name travels in the payload (at most TCP_CA_NAME_MAX = 16 bytes, as Linux).
    char algorithm[16] = {};
    const socklen_t n = length < sizeof algorithm - 1 ? length : static_cast<socklen_t>(sizeof algorithm - 1);
    std::memcpy(algorithm, value, n);
    CallRequest req;
    req.op = ipc::CallOp::kSetOption;
    req.socket = s.index;
    req.generation = s.generation.load();
    req.args[0] = level;
    req.args[1] = name;
    req.args[2] = static_cast<int64_t>(std::strlen(algorithm));
    req.payload = algorithm;
    req.payload_bytes = sizeof algorithm;
    r = control_call(req);
  } else if (level == SOL_SOCKET && name == SO_LINGER) {
    if (length < sizeof(linger)) return -EINVAL;
    linger l;
    std::memcpy(&l, value, sizeof l);
    r = socket_call(s, ipc::CallOp::kSetOption, level, name, l.l_onoff != 0 ? 1 : 0, l.l_linger);
  } else {
    // Every other option Linux has for a TCP socket carries an int.
    if (length < sizeof(int)) return -EINVAL;
    int v;
    std::memcpy(&v, value, sizeof v);
    r = socket_call(s, ipc::CallOp::kSetOption, level, name, v);
  }
  if (r.result < 0) return static_cast<int>(r.result);
  record_option(s, level, name, value, length);
  return 0;
}

int joyride_getsockopt(const FdInfo& info, int level, int name, void* value, socklen_t* length) {
  if (const int u = check_usable(info); u < 0) return u;
  if (value == nullptr || length == nullptr) return -EFAULT;
  AppSocket& s = *info.socket.socket;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE:
        return put_int(s.datagram.load() ? SOCK_DGRAM : SOCK_STREAM, value, length);
      case SO_DOMAIN:
        return put_int(AF_INET, value, length);
      case SO_PROTOCOL:
        return put_int(s.datagram.load() ? IPPROTO_UDP : IPPROTO_TCP, value, length);
      case SO_ACCEPTCONN:
        return put_int(s.listening.load() ? 1 : 0, value, length);
      case SO_ERROR:
        return put_int(take_socket_error(s), value, length);
      case SO_RCVTIMEO_OLD:
      case SO_RCVTIMEO_NEW:
        return put_timeout(s.recv_timeout_ns.load(), value, length);
      case SO_SNDTIMEO_OLD:
      case SO_SNDTIMEO_NEW:
        return put_timeout(s.send_timeout_ns.load(), value, length);
      case SO_LINGER: {
        const CallAnswer r = socket_call(s, ipc::CallOp::kGetOption, level, name);
        if (r.result < 0) return static_cast<int>(r.result);
        const linger l{static_cast<int>(r.out[0]), static_cast<int>(r.out[1])};
        return put_bytes(&l, sizeof l, value, length);
      }
      default:
        break;
    }
  }
  if (level == IPPROTO_TCP && name == TCP_INFO) {
    const CallAnswer r = socket_call(s, ipc::CallOp::kTcpInfo);
    if (r.result < 0) return static_cast<int>(r.result);
    socklen_t full = static_cast<socklen_t>(r.out[0]);
    if (full > sizeof r.payload) full = sizeof r.payload;
    return put_bytes(r.payload, full, value, length);
  }
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    const CallAnswer r = socket_call(s, ipc::CallOp::kGetOption, level, name);
    if (r.result < 0) return static_cast<int>(r.result);
    char algorithm[16] = {};
    std::memcpy(algorithm, r.payload, sizeof algorithm - 1);
    return put_bytes(algorithm, sizeof algorithm, value, length);
  }
  const CallAnswer r = socket_call(s, ipc::CallOp::kGetOption, level, name);
  if (r.result < 0) return static_cast<int>(r.result);
  return put_int(static_cast<int>(r.out[0]), value, length);
}

}  // namespace
}  // namespace joyride::preload

using namespace joyride::preload;
namespace ipc = joyride::ipc;

JOYRIDE_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().setsockopt(fd, level, name, value, length);
  return finish_call(joyride_setsockopt(info, level, name, value, length));
}

JOYRIDE_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* length) noexcept {
  const FdInfo info = lookup_fd(fd);
  if (info.kind != FdKind::kJoyride) return libc().getsockopt(fd, level, name, value, length);
  return finish_call(joyride_getsockopt(info, level, name, value, length));
}
