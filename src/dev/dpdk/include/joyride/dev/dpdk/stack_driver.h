// Runs one core::Stack over one Port: the host side of stack.h's contract (input every
// received frame, poll, take_tx and transmit) for the DPDK device layer.
//
// poll_once is one round of a polling loop: an rx burst from each of the port's rx
// queues into stack.input (with RSS the NIC spreads flows over them; one owner reads
// them all, so the stack needs no lock), stack.poll, then the stack's frames to the
// tx queue. It returns the frames moved in and out so
// the caller can poll adaptively (busy while there is work, back off when idle; the
// next timer is stack.next_deadline()).
//
// Transmit back-pressure: frames the PMD refuses (ring full) wait in a small pending
// buffer and go first on the next round; new frames are taken from the stack only into
// free pending space, so a full ring leaves them in the stack's own bounded TxQueue
// rather than dropping them here. If the PMD takes nothing for `tx_retry_rounds`
// rounds in a row the pending frames are dropped (counted): a dead link must not pin
// the pool's mbufs forever.
//
// The driver reads no clock: the caller passes `now`; monotonic_now() below is the
// clock a production loop uses (core/ never reads one).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/buf/packet.h"
#include "joyride/core/frame.h"
#include "joyride/core/stack.h"
#include "joyride/dev/dpdk/port.h"

namespace joyride::dev::dpdk {

// CLOCK_MONOTONIC as a base::Instant.
base::Instant monotonic_now();

struct StackDriverConfig {
  uint32_t ifindex = 0;  // the stack's interface this port is
  uint16_t tx_queue = 0;
  uint16_t burst = 32;          // frames per rx burst, and the pending tx capacity
  uint32_t tx_retry_rounds = 64;  // rounds without tx progress before pending frames drop
};

enum class StackDriverCounter : uint8_t {
  kRxFrames,        // handed to stack.input
  kTxFrames,        // accepted by the PMD (or dropped by the port as unsendable)
  kTxDropped,       // given up after tx_retry_rounds, or for another interface
  kCount
};
constexpr std::array<std::string_view, 3> counter_names(StackDriverCounter) {
  return {"rx_frames", "tx_frames", "tx_dropped"};
}

class StackDriver {
 public:
  // Both must outlive the driver.
  StackDriver(core::Stack& stack, Port& port, const StackDriverConfig& config = {});

  // One round; returns frames received plus frames transmitted.
  size_t poll_once(base::Instant now);

  // Frames taken from the stack and still waiting for the PMD.
  size_t tx_pending() const { return pending_count_; }
  const base::CounterSet<StackDriverCounter>& counters() const { return counters_; }

 private:
  size_t transmit();

  core::Stack& stack_;
  Port& port_;
  StackDriverConfig config_;
  std::vector<buf::Packet> rx_;        // one burst, reused
  std::vector<core::Frame> frames_;    // take_tx scratch, reused
  std::vector<buf::Packet> pending_;   // pending_[0..pending_count_) wait for the PMD
  size_t pending_count_ = 0;
  uint32_t stalled_rounds_ = 0;
  base::CounterSet<StackDriverCounter> counters_;
};

}  // namespace joyride::dev::dpdk
