#include "control_call.h"

#include <errno.h>

#include <cstring>

#include "cpu_relax.h"
#include "joyride/ipc/wait.h"
#include "service.h"

namespace joyride::preload {
namespace {

using ipc::CallSlot;

constexpr int kSpinIterations = 4000;
// While sleeping on a call, look at the session socket this often: a service that
// died mid-call must not hang the application forever.
constexpr int64_t kLivenessCheckNs = 1'000'000'000;
// No free slot: sleep on a busy slot's state at most this long before looking again
// (any slot may be the next to free up; we cannot sleep on all of them).
constexpr int64_t kSlotRetryNs = 200'000;

// A per-thread starting point spreads threads over the slots, so concurrent callers
// rarely collide on the same CAS.
thread_local uint32_t t_slot_hint = 0;
// Threads of this process sleeping for a free slot; a caller that frees one wakes
// them only when this is non-zero (no system call per control call otherwise).
std::atomic<uint32_t> g_slot_starved{0};

CallSlot* claim_slot() {
  Service& svc = service();
  const uint32_t n = svc.geometry().call_slots;
  for (;;) {
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t i = (t_slot_hint + k) % n;
      CallSlot& slot = svc.call_slot(i);
      uint32_t expected = ipc::kFree;
      if (slot.state.load(std::memory_order_relaxed) == ipc::kFree &&
          slot.state.compare_exchange_strong(expected, ipc::kClaimed, std::memory_order_acquire)) {
        t_slot_hint = i;
        return &slot;
      }
    }
    if (svc.service_gone()) return nullptr;
    CallSlot& busy = svc.call_slot(t_slot_hint % n);
    const uint32_t seen = busy.state.load(std::memory_order_relaxed);
    g_slot_starved.fetch_add(1);
    if (seen != ipc::kFree) (void)ipc::futex_wait(busy.state, seen, kSlotRetryNs);
    g_slot_starved.fetch_sub(1);
  }
}

// Waits until the service moved the slot to kDone. False when the service is gone.
bool wait_done(CallSlot& slot) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (slot.state.load(std::memory_order_acquire) == ipc::kDone) return true;
    cpu_relax();
  }
  slot.waiting.store(1);  // seq_cst: the service either sees it or we see kDone below
  bool done = true;
  while (slot.state.load() != ipc::kDone) {
    const int r = ipc::futex_wait(slot.state, ipc::kRequested, kLivenessCheckNs);
    if (r == ETIMEDOUT && slot.state.load() != ipc::kDone && service().service_gone()) {
      done = false;
      break;
    }
  }
  slot.waiting.store(0, std::memory_order_relaxed);
  return done;
}

}  // namespace

CallAnswer control_call(const CallRequest& request) {
  CallAnswer answer;
  Service& svc = service();
  CallSlot* slot = claim_slot();
  if (slot == nullptr) {
    answer.result = -ENETDOWN;
    return answer;
  }
  slot->op = static_cast<uint32_t>(request.op);
  slot->socket = request.socket;
  slot->generation = request.generation;
  for (int i = 0; i < 4; ++i) slot->args[i] = request.args[i];
  slot->result = 0;
  slot->out[0] = slot->out[1] = 0;
  slot->addr = request.addr != nullptr ? *request.addr : ipc::WireAddress{};
  const size_t payload_bytes = request.payload_bytes < ipc::kCallPayload ? request.payload_bytes : ipc::kCallPayload;
  std::memset(slot->payload, 0, sizeof slot->payload);
  if (request.payload != nullptr) std::memcpy(slot->payload, request.payload, payload_bytes);
  slot->state.store(ipc::kRequested, std::memory_order_release);
  svc.announce_call();
  if (!wait_done(*slot)) {
    // The slot stays claimed: a dead service will never free it, and reusing it
    // could hand a late answer to the wrong caller.
    answer.result = -ENETDOWN;
    return answer;
  }
  // The answer is the service's; copy it out once before handing the slot back.
  answer.result = slot->result;
  answer.out[0] = slot->out[0];
  answer.out[1] = slot->out[1];
  answer.addr = slot->addr;
  std::memcpy(answer.payload, slot->payload, sizeof answer.payload);
  slot->state.store(ipc::kFree, std::memory_order_release);
  // A thread starved of slots may sleep on this one's state (claim_slot).
  if (g_slot_starved.load() != 0) ipc::futex_wake_all(slot->state);
  return answer;
}

}  // namespace joyride::preload


#include "app_socket.h"

namespace joyride::preload {

CallAnswer socket_call(const AppSocket& s, ipc::CallOp op, int64_t a0, int64_t a1, int64_t a2, int64_t a3,
                       const ipc::WireAddress* addr) {
  CallRequest req;
  req.op = op;
  req.socket = s.index;
  req.generation = s.generation.load(std::memory_order_relaxed);
  req.args[0] = a0;
  req.args[1] = a1;
  req.args[2] = a2;
  req.args[3] = a3;
  req.addr = addr;
  return control_call(req);
}

int take_socket_error(const AppSocket& s) {
  const CallAnswer a = socket_call(s, ipc::CallOp::kTakeError);
  if (a.result < 0) return static_cast<int>(-a.result);  // the call itself failed: say why
  if (a.result > 0 && a.result < 4096) return static_cast<int>(a.result);
  return 0;
}

}  // namespace joyride::preload
