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
  // EADDRINUSE: bind() to port 0 found no free port (Linux __inet_bind: get_port
  // fails, TCP and UDP alike; EAGAIN is for the implicit bind of UDP's connect/send).
  kNoEphemeralPorts,
  kUnsupportedFamily,    // EAFNOSUPPORT
};

enum class ConnectError : uint8_t {
  kBadSocket,          // EBADF
  kNoRoute,            // ENETUNREACH
  // EAGAIN for UDP (Linux inet_autobind); EADDRNOTAVAIL for TCP (__inet_hash_connect):
  // every ephemeral port is taken for this destination.
  kNoEphemeralPorts,
  kUnsupportedFamily,  // EAFNOSUPPORT
  kInvalid,            // EINVAL (e.g. port 0)
  kAlreadyConnected,   // EISCONN
  kAlreadyInProgress,  // EALREADY
  // EADDRNOTAVAIL: a bound TCP socket's 4-tuple is taken (Linux __inet_hash_connect
  // -> __inet_check_established), as when no ephemeral port is left.
  kAddressInUse,
  // A TCP connect() after a non-blocking one failed reports the connection's pending
  // error once (Linux __inet_stream_connect, sock_error), as the errno of the same
  // name (connect_error_for), or ECONNABORTED when it was already taken; the next
  // connect() starts a new attempt.
  kConnectionRefused,    // ECONNREFUSED
  kConnectionReset,      // ECONNRESET
  kTimedOut,             // ETIMEDOUT
  kBrokenPipe,           // EPIPE
  kHostUnreachable,      // EHOSTUNREACH
  kProtocolUnavailable,  // ENOPROTOOPT
  kNotSupported,         // EOPNOTSUPP
  kHostDown,             // EHOSTDOWN
  kNoNetwork,            // ENONET
  kProtocolError,        // EPROTO
  kConnectionAborted,    // ECONNABORTED: failed, and the error was already reported
  // ENOBUFS: the host's BufferProvider refused the socket's buffers (Linux's
  // tcp_connect fails so when it cannot allocate); nothing was sent, the socket stays
  // unconnected and connect() may be tried again.
  kNoBuffers,
};

enum class ListenError : uint8_t {
  kBadSocket,  // EBADF
  kInvalid,    // EINVAL: connected or connecting
  kAddressInUse,      // EADDRINUSE: another socket listens on the port
  kNoEphemeralPorts,  // EADDRINUSE too (inet_csk_listen_start: no port to bind to)
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
  kNoEphemeralPorts,   // EAGAIN (UDP's implicit bind, Linux inet_autobind)
  kUnsupportedFamily,  // EAFNOSUPPORT
  kConnectionRefused,  // ECONNREFUSED: a pending ICMP error on a connected socket
  kInvalid,            // EINVAL
  kWouldBlock,         // EAGAIN: the send buffer is full
  kBrokenPipe,         // EPIPE: shut down for writing, or the connection is closed
  kConnectionReset,    // ECONNRESET
  kTimedOut,           // ETIMEDOUT
  // A TCP connection's pending error from an ICMP error (the errno Linux's
  // tcp_v4_err gives it; RecvError has the same values):
  kHostUnreachable,      // EHOSTUNREACH
  kProtocolUnavailable,  // ENOPROTOOPT: protocol unreachable
  kNotSupported,         // EOPNOTSUPP: source route failed
  kHostDown,             // EHOSTDOWN: destination host unknown
  kNoNetwork,            // ENONET: source host isolated
  kProtocolError,        // EPROTO: ICMP parameter problem
};

// Also the error a TCP connection holds until the application reads it (Linux
// sk_err): send() reports it as the SendError of the same errno (send_error_for).
enum class RecvError : uint8_t {
  kBadSocket,          // EBADF
  kWouldBlock,         // EAGAIN
  kConnectionRefused,  // ECONNREFUSED: a pending ICMP error on a connected socket, or an RST in SYN-SENT
  kNotConnected,       // ENOTCONN
  kConnectionReset,    // ECONNRESET
  kTimedOut,           // ETIMEDOUT
  kBrokenPipe,         // EPIPE: an RST in CLOSE_WAIT (Linux tcp_reset); recv reports EOF first
  // ICMP errors as Linux's tcp_v4_err maps them (destination unreachable through
  // icmp_err_convert; time exceeded is EHOSTUNREACH, parameter problem EPROTO):
  kNoRoute,              // ENETUNREACH: net unreachable/unknown, net prohibited, net unreachable for TOS
  kHostUnreachable,      // EHOSTUNREACH: host unreachable, host prohibited, host for TOS, filtered, precedence;
                         // time exceeded
  kProtocolUnavailable,  // ENOPROTOOPT: protocol unreachable
  kNotSupported,         // EOPNOTSUPP: source route failed
  kHostDown,             // EHOSTDOWN: destination host unknown
  kNoNetwork,            // ENONET: source host isolated
  kProtocolError,        // EPROTO: ICMP parameter problem (Linux tcp_v4_err)
};

std::string_view to_string(OpenError e);
std::string_view to_string(BindError e);
std::string_view to_string(ConnectError e);
std::string_view to_string(SendError e);
std::string_view to_string(RecvError e);
std::string_view to_string(ListenError e);
std::string_view to_string(AcceptError e);

// The SendError with the same errno as a connection's pending RecvError, for send()
// to report it (kWouldBlock, kNotConnected, kBadSocket are never pending).
SendError send_error_for(RecvError e);
// The ConnectError with the same errno as a connection's pending RecvError, for the
// connect() after a failed non-blocking one to report it.
ConnectError connect_error_for(RecvError e);

}  // namespace joyride::core
