// Per-operation error enums for the socket API of a stack instance. errno is chosen
// only at the syscall boundary (preload/); the comments say which one Linux uses.
#pragma once

#include <cstdint>
#include <string_view>

namespace joyride::core {

enum class OpenError : uint8_t {
  kTooManySockets,  // EMFILE/ENOBUFS: the instance's socket limit
};

enum class BindError : uint8_t {
  kBadSocket,            // EBADF
  kAlreadyBound,         // EINVAL
  kAddressInUse,         // EADDRINUSE
  kAddressNotAvailable,  // EADDRNOTAVAIL: not one of our addresses
  kNoEphemeralPorts,     // EAGAIN (Linux returns EAGAIN for UDP when the range is exhausted)
  kUnsupportedFamily,    // EAFNOSUPPORT
};

enum class ConnectError : uint8_t {
  kBadSocket,          // EBADF
  kNoRoute,            // ENETUNREACH
  kNoEphemeralPorts,   // EAGAIN
  kUnsupportedFamily,  // EAFNOSUPPORT
  kInvalid,            // EINVAL (e.g. port 0)
  kAlreadyConnected,   // EISCONN
  kAlreadyInProgress,  // EALREADY
  kAddressInUse,       // EADDRNOTAVAIL/EADDRINUSE: the 4-tuple is taken
};

enum class ListenError : uint8_t {
  kBadSocket,  // EBADF
  kInvalid,    // EINVAL: connected or connecting
  kAddressInUse,
  kNoEphemeralPorts,
};

enum class AcceptError : uint8_t {
  kBadSocket,   // EBADF
  kInvalid,     // EINVAL: not listening
  kWouldBlock,  // EAGAIN
  kTooManySockets,
};

enum class SendError : uint8_t {
  kBadSocket,          // EBADF
  kNotConnected,       // EDESTADDRREQ: no destination given and none connected
  kNoRoute,            // ENETUNREACH
  kMessageTooLong,     // EMSGSIZE: over 65507 bytes, or over the MTU with DF set
  kNoBuffers,          // ENOBUFS: packet pool exhausted
  kBroadcastDenied,    // EACCES: broadcast without SO_BROADCAST
  kNoEphemeralPorts,   // EAGAIN
  kUnsupportedFamily,  // EAFNOSUPPORT
  kConnectionRefused,  // ECONNREFUSED: a pending ICMP error on a connected socket
  kInvalid,            // EINVAL
  kWouldBlock,         // EAGAIN: the send buffer is full
  kBrokenPipe,         // EPIPE: shut down for writing, or the connection is closed
  kConnectionReset,    // ECONNRESET
  kTimedOut,           // ETIMEDOUT
};

enum class RecvError : uint8_t {
  kBadSocket,          // EBADF
  kWouldBlock,         // EAGAIN
  kConnectionRefused,  // ECONNREFUSED: a pending ICMP error on a connected socket
  kNotConnected,       // ENOTCONN
  kConnectionReset,    // ECONNRESET
  kTimedOut,           // ETIMEDOUT
};

std::string_view to_string(OpenError e);
std::string_view to_string(BindError e);
std::string_view to_string(ConnectError e);
std::string_view to_string(SendError e);
std::string_view to_string(RecvError e);
std::string_view to_string(ListenError e);
std::string_view to_string(AcceptError e);

}  // namespace joyride::core
