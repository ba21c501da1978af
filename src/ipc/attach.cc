#include "joyride/ipc/attach.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "joyride/ipc/region.h"

namespace joyride::ipc {
namespace {

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

bool attach(const std::string& path, std::string_view command, Attached& out, std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    error = "service socket path too long: " + path;
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot reach joyrided at " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::string line = std::string(kAttachVerb) + " " + std::to_string(kRegionVersion) + " ";
  for (char c : command.substr(0, 64)) line += (c > ' ' && c < 127) ? c : '_';
  line += '\n';
  if (!send_all(fd, line.data(), line.size())) {
    error = std::string("attach request: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  // The answer within 5 s (the service looks at its socket every 10 ms).
  pollfd p{fd, POLLIN, 0};
  int ready;
  do ready = ::poll(&p, 1, 5000);
  while (ready < 0 && errno == EINTR);
  if (ready <= 0) {
    error = "joyrided did not answer the attach request";
    ::close(fd);
    return false;
  }
  AttachReply reply;
  iovec iov{&reply, sizeof reply};
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  int fds[3] = {-1, -1, -1};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(3 * sizeof(int)))
      std::memcpy(fds, CMSG_DATA(c), sizeof fds);
  }
  auto close_fds = [&] {
    for (int f : fds)
      if (f >= 0) ::close(f);
  };
  if (n != static_cast<ssize_t>(sizeof reply) || reply.magic != kAttachMagic) {
    error = "joyrided sent a malformed attach answer";
    close_fds();
    ::close(fd);
    return false;
  }
  reply.message[sizeof reply.message - 1] = '\0';
  if (reply.status != 0) {
    error = std::string("joyrided refused: ") + reply.message;
    close_fds();
    ::close(fd);
    return false;
  }
  if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
    error = "joyrided's attach answer carried no descriptors";
    close_fds();
    ::close(fd);
    return false;
  }
  out.session_fd = fd;
  out.region_fd = fds[0];
  out.app_doorbell = fds[1];
  out.service_doorbell = fds[2];
  out.reply = reply;
  return true;
}

bool send_attach_reply(int client, const AttachReply& reply, int region_fd, int app_doorbell, int service_doorbell) {
  iovec iov{const_cast<AttachReply*>(&reply), sizeof reply};
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (reply.status == 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(3 * sizeof(int));
    const int fds[3] = {region_fd, app_doorbell, service_doorbell};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  }
  ssize_t n;
  do n = ::sendmsg(client, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof reply);
}

}  // namespace joyride::ipc
