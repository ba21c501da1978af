// A simulated host: one core::Stack with its own packet pool and seeded randomness,
// plugged into a SimNetwork. The stack's ifindex is the node's port number.
#pragma once

#include <cstdint>
#include <optional>

#include "joyride/base/random.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/core/stack.h"
#include "joyride/dev/sim_node.h"

namespace joyride::dev::sim {

class StackNode final : public SimNode {
 public:
  StackNode(const core::StackConfig& config, uint64_t seed, base::Instant start, uint32_t pool_segments = 16384);

  core::Stack& stack() { return *stack_; }
  // Destroys the stack, returning every packet it holds to the pools they came
  // from. Frames travel between nodes without copies, so a stack may hold packets
  // of another node's pool: shut every node down before any node is destroyed.
  void shutdown() { stack_.reset(); }
  buf::HeapPacketPool& pool() { return pool_; }

  void receive(uint32_t port, buf::Packet frame, base::Instant now) override;
  void poll(base::Instant now, TxFn& tx) override;
  base::Instant next_deadline() const override;

 private:
  // Declaration order is destruction order reversed: the stack (holding packets)
  // goes before the pool they return to.
  buf::HeapPacketPool pool_;
  base::SeededRandom random_;
  std::optional<core::Stack> stack_;
  base::Instant last_now_;
};

}  // namespace joyride::dev::sim
