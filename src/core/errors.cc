#include "joyride/core/errors.h"

namespace joyride::core {

std::string_view to_string(OpenError e) {
  switch (e) {
    case OpenError::kTooManySockets: return "too many sockets";
  }
  return "?";
}

std::string_view to_string(BindError e) {
  switch (e) {
    case BindError::kBadSocket: return "bad socket";
    case BindError::kAlreadyBound: return "already bound";
    case BindError::kAddressInUse: return "address in use";
    case BindError::kAddressNotAvailable: return "address not available";
    case BindError::kNoEphemeralPorts: return "no ephemeral ports";
    case BindError::kUnsupportedFamily: return "unsupported address family";
  }
  return "?";
}

std::string_view to_string(ConnectError e) {
  switch (e) {
    case ConnectError::kBadSocket: return "bad socket";
    case ConnectError::kNoRoute: return "no route";
    case ConnectError::kNoEphemeralPorts: return "no ephemeral ports";
    case ConnectError::kUnsupportedFamily: return "unsupported address family";
    case ConnectError::kInvalid: return "invalid argument";
    case ConnectError::kAlreadyConnected: return "already connected";
    case ConnectError::kAlreadyInProgress: return "connection already in progress";
    case ConnectError::kAddressInUse: return "address in use";
  }
  return "?";
}

std::string_view to_string(SendError e) {
  switch (e) {
    case SendError::kBadSocket: return "bad socket";
    case SendError::kNotConnected: return "no destination";
    case SendError::kNoRoute: return "no route";
    case SendError::kMessageTooLong: return "message too long";
    case SendError::kNoBuffers: return "no buffers";
    case SendError::kBroadcastDenied: return "broadcast not enabled";
    case SendError::kNoEphemeralPorts: return "no ephemeral ports";
    case SendError::kUnsupportedFamily: return "unsupported address family";
    case SendError::kConnectionRefused: return "connection refused";
    case SendError::kInvalid: return "invalid argument";
    case SendError::kWouldBlock: return "would block";
    case SendError::kBrokenPipe: return "broken pipe";
    case SendError::kConnectionReset: return "connection reset";
    case SendError::kTimedOut: return "timed out";
  }
  return "?";
}

std::string_view to_string(RecvError e) {
  switch (e) {
    case RecvError::kBadSocket: return "bad socket";
    case RecvError::kWouldBlock: return "would block";
    case RecvError::kConnectionRefused: return "connection refused";
    case RecvError::kNotConnected: return "not connected";
    case RecvError::kConnectionReset: return "connection reset";
    case RecvError::kTimedOut: return "timed out";
  }
  return "?";
}

std::string_view to_string(ListenError e) {
  switch (e) {
    case ListenError::kBadSocket: return "bad socket";
    case ListenError::kInvalid: return "invalid argument";
    case ListenError::kAddressInUse: return "address in use";
    case ListenError::kNoEphemeralPorts: return "no ephemeral ports";
  }
  return "?";
}

std::string_view to_string(AcceptError e) {
  switch (e) {
    case AcceptError::kBadSocket: return "bad socket";
    case AcceptError::kInvalid: return "not listening";
    case AcceptError::kWouldBlock: return "would block";
    case AcceptError::kTooManySockets: return "too many sockets";
  }
  return "?";
}

}  // namespace joyride::core
