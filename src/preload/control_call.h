// One control call through the region's call slots (socket, bind, connect, close,
// options ...): claim a free slot, fill it, publish it, wait for the service's
// answer (spin briefly, then sleep on the slot's state), copy the answer out, free
// the slot. Control calls always complete quickly (the service never blocks on
// them), so the wait is not interruptible; it ends early only when the service is
// gone (-ENETDOWN).
#pragma once

#include <cstddef>
#include <cstdint>

#include "joyride/ipc/region.h"

namespace joyride::preload {

struct CallRequest {
  ipc::CallOp op = ipc::CallOp::kNone;
  uint32_t socket = 0;
  uint32_t generation = 0;
  int64_t args[4] = {};
  const ipc::WireAddress* addr = nullptr;  // in (bind/connect)
  const void* payload = nullptr;           // in (TCP_CONGESTION's name)
  size_t payload_bytes = 0;
};

struct CallAnswer {
  int64_t result = 0;  // >= 0, or a negated errno
  int64_t out[2] = {};
  ipc::WireAddress addr{};
  uint8_t payload[ipc::kCallPayload] = {};
};

// Makes the call; the answer's result is the service's (or -ENETDOWN). Never sets errno.
CallAnswer control_call(const CallRequest& request);

}  // namespace joyride::preload

namespace joyride::preload {

struct AppSocket;

// kTakeError: the pending socket error (positive errno) or 0; clears kError.
int take_socket_error(const AppSocket& s);

// The common shape: op on one socket with up to four integer arguments.
CallAnswer socket_call(const AppSocket& s, ipc::CallOp op, int64_t a0 = 0, int64_t a1 = 0, int64_t a2 = 0,
                       int64_t a3 = 0, const ipc::WireAddress* addr = nullptr);

}  // namespace joyride::preload
