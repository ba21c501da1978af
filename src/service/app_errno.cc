#include "app_errno.h"

#include <cerrno>

namespace joyride::service {

int open_errno(core::OpenError) { return EMFILE; }

int bind_errno(core::BindError e) {
  using E = core::BindError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kAlreadyBound: return EINVAL;
    case E::kAddressInUse: return EADDRINUSE;
    case E::kAddressNotAvailable: return EADDRNOTAVAIL;
    case E::kNoEphemeralPorts: return EADDRINUSE;
    case E::kUnsupportedFamily: return EAFNOSUPPORT;
  }
  return EINVAL;
}

int listen_errno(core::ListenError e) {
  using E = core::ListenError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kInvalid: return EINVAL;
    case E::kAddressInUse: return EADDRINUSE;
    case E::kNoEphemeralPorts: return EADDRINUSE;
  }
  return EINVAL;
}

int accept_errno(core::AcceptError e) {
  using E = core::AcceptError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kInvalid: return EINVAL;
    case E::kWouldBlock: return EAGAIN;
    case E::kTooManySockets: return EMFILE;
  }
  return EINVAL;
}

int connect_errno(core::ConnectError e) {
  using E = core::ConnectError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kNoRoute: return ENETUNREACH;
    case E::kNoEphemeralPorts: return EADDRNOTAVAIL;
    case E::kUnsupportedFamily: return EAFNOSUPPORT;
    case E::kInvalid: return EINVAL;
    case E::kAlreadyConnected: return EISCONN;
    case E::kAlreadyInProgress: return EALREADY;
    case E::kAddressInUse: return EADDRNOTAVAIL;
    case E::kConnectionRefused: return ECONNREFUSED;
    case E::kConnectionReset: return ECONNRESET;
    case E::kTimedOut: return ETIMEDOUT;
    case E::kBrokenPipe: return EPIPE;
    case E::kHostUnreachable: return EHOSTUNREACH;
    case E::kProtocolUnavailable: return ENOPROTOOPT;
    case E::kNotSupported: return EOPNOTSUPP;
    case E::kHostDown: return EHOSTDOWN;
    case E::kNoNetwork: return ENONET;
    case E::kProtocolError: return EPROTO;
    case E::kConnectionAborted: return ECONNABORTED;
    case E::kNoBuffers: return ENOBUFS;
  }
  return EINVAL;
}

int send_errno(core::SendError e) {
  using E = core::SendError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kNotConnected: return EDESTADDRREQ;
    case E::kNoRoute: return ENETUNREACH;
    case E::kMessageTooLong: return EMSGSIZE;
    case E::kNoBuffers: return ENOBUFS;
    case E::kBroadcastDenied: return EACCES;
    case E::kNoEphemeralPorts: return EAGAIN;
    case E::kUnsupportedFamily: return EAFNOSUPPORT;
    case E::kConnectionRefused: return ECONNREFUSED;
    case E::kInvalid: return EINVAL;
    case E::kWouldBlock: return EAGAIN;
    case E::kBrokenPipe: return EPIPE;
    case E::kConnectionReset: return ECONNRESET;
    case E::kTimedOut: return ETIMEDOUT;
    case E::kHostUnreachable: return EHOSTUNREACH;
    case E::kProtocolUnavailable: return ENOPROTOOPT;
    case E::kNotSupported: return EOPNOTSUPP;
    case E::kHostDown: return EHOSTDOWN;
    case E::kNoNetwork: return ENONET;
    case E::kProtocolError: return EPROTO;
  }
  return EINVAL;
}

int recv_errno(core::RecvError e) {
  using E = core::RecvError;
  switch (e) {
    case E::kBadSocket: return EBADF;
    case E::kWouldBlock: return EAGAIN;
    case E::kConnectionRefused: return ECONNREFUSED;
    case E::kNotConnected: return ENOTCONN;
    case E::kConnectionReset: return ECONNRESET;
    case E::kTimedOut: return ETIMEDOUT;
    case E::kBrokenPipe: return EPIPE;
    case E::kNoRoute: return ENETUNREACH;
    case E::kHostUnreachable: return EHOSTUNREACH;
    case E::kProtocolUnavailable: return ENOPROTOOPT;
    case E::kNotSupported: return EOPNOTSUPP;
    case E::kHostDown: return EHOSTDOWN;
    case E::kNoNetwork: return ENONET;
    case E::kProtocolError: return EPROTO;
  }
  return EINVAL;
}

}  // namespace joyride::service
