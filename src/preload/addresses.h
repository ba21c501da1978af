// IPv4 socket addresses <-> the contract's WireAddress, and the Linux rules for
// handing an address back to the app (truncate to the caller's length, report the
// full one).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdio>

#include "joyride/ipc/region.h"

namespace joyride::preload {

inline ipc::WireAddress to_wire(const sockaddr_in& a) {
  ipc::WireAddress w;
  w.family = AF_INET;
  w.port = ntohs(a.sin_port);
  memcpy(w.bytes, &a.sin_addr, 4);
  return w;
}

inline sockaddr_in from_wire(const ipc::WireAddress& w) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(w.port);
  memcpy(&a.sin_addr, w.bytes, 4);
  return a;
}

// Copies `a` out as Linux's move_addr_to_user does. Returns 0 or -EINVAL/-EFAULT.
inline int copy_address_out(const sockaddr_in& a, sockaddr* out, socklen_t* out_len) {
  if (out == nullptr) return 0;
  if (out_len == nullptr) return -EFAULT;
  if (static_cast<int>(*out_len) < 0) return -EINVAL;
  const socklen_t n = *out_len < sizeof a ? *out_len : static_cast<socklen_t>(sizeof a);
  memcpy(out, &a, n);
  *out_len = sizeof a;
  return 0;
}

// The addresses the kernel keeps for itself: 127.0.0.0/8, and 0.0.0.0, which Linux
// turns into a connect to the local host.
inline bool is_kernel_local(const sockaddr_in& a) {
  const uint32_t host = ntohl(a.sin_addr.s_addr);
  return (host >> 24) == 127 || host == 0;
}

// "a.b.c.d:port" for logs.
struct AddressText {
  char text[32];
  explicit AddressText(const sockaddr_in& a) {
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(text, sizeof text, "%s:%u", ip, static_cast<unsigned>(ntohs(a.sin_port)));
  }
};

}  // namespace joyride::preload
