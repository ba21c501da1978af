// Attaching an application to joyrided.
//
// The application connects to joyrided's unix socket (the control socket,
// /run/joyride/joyrided.sock by default: one socket for both) and sends one line:
//
//   attach <kRegionVersion> <command name>\n
//
// joyrided checks the peer (SO_PEERCRED: root, its own user, or the socket file's
// group when the mode grants it), creates the application's region and answers with
// one AttachReply carrying three descriptors (SCM_RIGHTS): the region's memfd, the
// app's doorbell eventfd (the service writes it when the app sleeps in poll/epoll),
// and the service's doorbell eventfd (the app writes it while service_sleeping is
// set). The connection stays open: its hang-up tells joyrided the application is
// gone (every fd of it closed: it exited or was killed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace joyride::ipc {

inline constexpr uint32_t kAttachMagic = 0x4a524154;  // "JRAT"
inline constexpr std::string_view kAttachVerb = "attach";

struct AttachReply {
  uint32_t magic = kAttachMagic;
  uint32_t version = 0;   // kRegionVersion of the service
  int32_t status = 0;     // 0, or a positive errno (EMFILE: too many applications, ...)
  uint32_t pad = 0;
  uint64_t region_bytes = 0;
  uint64_t app_id = 0;
  char message[96] = {};  // why, when status != 0
};
static_assert(sizeof(AttachReply) == 128);

struct Attached {
  int session_fd = -1;  // the attach connection (keep it open)
  int region_fd = -1;
  int app_doorbell = -1;
  int service_doorbell = -1;
  AttachReply reply;
};

// App side: connect to `path`, ask, receive. In the preload the libc names it calls
// (socket, connect, send, poll, recvmsg, close) are the interposed ones; that is
// safe because they are all on AF_UNIX fds, which go straight to the kernel without
// attaching (attaching again from inside this call would deadlock). On failure returns false and says why
// in `error` (no service running is the common case: ENOENT/ECONNREFUSED).
bool attach(const std::string& path, std::string_view command, Attached& out, std::string& error);

// Service side: send `reply` with the three descriptors (or none when status != 0).
bool send_attach_reply(int client, const AttachReply& reply, int region_fd, int app_doorbell, int service_doorbell);

}  // namespace joyride::ipc
