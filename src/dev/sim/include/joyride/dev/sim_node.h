// A host in the simulated network (SimNetwork): something with numbered ports that
// receives frames, sends frames when polled, and says when it next needs a poll.
// The same shape as core/'s poll loop (see ../../shared/DESIGN.md): the node is
// handed `now`, never reads a clock, and reports its next deadline.
#pragma once

#include <cstdint>

#include "joyride/base/time.h"
#include "joyride/buf/packet.h"

namespace joyride::dev::sim {

// Where a node puts the frames it sends during poll(). A plain interface so the
// network can hand one out from the stack without allocating; the frame's
// ownership passes to the callee (which may drop it: unconnected port, full queue).
class TxFn {
 public:
  virtual ~TxFn() = default;
  virtual void operator()(uint32_t port, buf::Packet frame) = 0;
};

class SimNode {
 public:
  virtual ~SimNode() = default;
  // A frame arrived on this node's port `port` at time `now`. The node owns it now.
  virtual void receive(uint32_t port, buf::Packet frame, base::Instant now) = 0;
  // Run timers due at `now` and hand out the frames to send: tx(port, std::move(frame))
  // for each. The network calls this right after delivering frames to the node (at
  // the same instant) and whenever next_deadline() has come.
  virtual void poll(base::Instant now, TxFn& tx) = 0;
  // When the node next needs poll() without new input; Instant::never() when idle.
  virtual base::Instant next_deadline() const = 0;
};

}  // namespace joyride::dev::sim
