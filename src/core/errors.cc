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
    case ConnectError::kConnectionRefused: return "connection refused";
    case ConnectError::kConnectionReset: return "connection reset";
    case ConnectError::kTimedOut: return "timed out";
    case ConnectError::kBrokenPipe: return "broken pipe";
    case ConnectError::kHostUnreachable: return "host unreachable";
    case ConnectError::kProtocolUnavailable: return "protocol not available";
    case ConnectError::kNotSupported: return "operation not supported";
    case ConnectError::kHostDown: return "host is down";
    case ConnectError::kNoNetwork: return "machine is not on the network";
    case ConnectError::kProtocolError: return "protocol error";
    case ConnectError::kConnectionAborted: return "connection aborted";
    case ConnectError::kNoBuffers: return "no buffer space available";
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
    case SendError::kHostUnreachable: return "host unreachable";
    case SendError::kProtocolUnavailable: return "protocol not available";
    case SendError::kNotSupported: return "operation not supported";
    case SendError::kHostDown: return "host is down";
    case SendError::kNoNetwork: return "machine is not on the network";
    case SendError::kProtocolError: return "protocol error";
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
    case RecvError::kBrokenPipe: return "broken pipe";
    case RecvError::kNoRoute: return "no route";
    case RecvError::kHostUnreachable: return "host unreachable";
    case RecvError::kProtocolUnavailable: return "protocol not available";
    case RecvError::kNotSupported: return "operation not supported";
    case RecvError::kHostDown: return "host is down";
    case RecvError::kNoNetwork: return "machine is not on the network";
    case RecvError::kProtocolError: return "protocol error";
  }
  return "?";
}

SendError send_error_for(RecvError e) {
  switch (e) {
    case RecvError::kBadSocket: return SendError::kBadSocket;
    case RecvError::kWouldBlock: return SendError::kWouldBlock;
    case RecvError::kConnectionRefused: return SendError::kConnectionRefused;
    case RecvError::kNotConnected: return SendError::kBrokenPipe;  // Linux send on an unconnected TCP socket: EPIPE
    case RecvError::kConnectionReset: return SendError::kConnectionReset;
    case RecvError::kTimedOut: return SendError::kTimedOut;
    case RecvError::kBrokenPipe: return SendError::kBrokenPipe;
    case RecvError::kNoRoute: return SendError::kNoRoute;
    case RecvError::kHostUnreachable: return SendError::kHostUnreachable;
    case RecvError::kProtocolUnavailable: return SendError::kProtocolUnavailable;
    case RecvError::kNotSupported: return SendError::kNotSupported;
    case RecvError::kHostDown: return SendError::kHostDown;
    case RecvError::kNoNetwork: return SendError::kNoNetwork;
    case RecvError::kProtocolError: return SendError::kProtocolError;
  }
  return SendError::kConnectionReset;
}

ConnectError connect_error_for(RecvError e) {
  switch (e) {
    case RecvError::kBadSocket: return ConnectError::kBadSocket;
    case RecvError::kWouldBlock: return ConnectError::kAlreadyInProgress;  // never pending
    case RecvError::kConnectionRefused: return ConnectError::kConnectionRefused;
    case RecvError::kNotConnected: return ConnectError::kConnectionAborted;  // never pending
    case RecvError::kConnectionReset: return ConnectError::kConnectionReset;
    case RecvError::kTimedOut: return ConnectError::kTimedOut;
    case RecvError::kBrokenPipe: return ConnectError::kBrokenPipe;
    case RecvError::kNoRoute: return ConnectError::kNoRoute;
    case RecvError::kHostUnreachable: return ConnectError::kHostUnreachable;
    case RecvError::kProtocolUnavailable: return ConnectError::kProtocolUnavailable;
    case RecvError::kNotSupported: return ConnectError::kNotSupported;
    case RecvError::kHostDown: return ConnectError::kHostDown;
    case RecvError::kNoNetwork: return ConnectError::kNoNetwork;
    case RecvError::kProtocolError: return ConnectError::kProtocolError;
  }
  return ConnectError::kConnectionAborted;
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
