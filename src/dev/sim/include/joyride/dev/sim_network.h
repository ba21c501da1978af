// SimNetwork: several simulated hosts (SimNode) on one fake clock, joined by
// point-to-point full-duplex links with latency, a rate limit with a bounded queue,
// an MTU, and seeded loss / reordering / duplication / corruption. The idea of
// netstack3's FakeNetwork and smoltcp's FaultInjector; nothing sleeps and nothing
// reads a clock: time moves only when step() takes it to the next event.
//
// A frame's life, per link direction, when a node transmits it at time `now`:
//
//   tx(port, frame) ─► capture (pcap, if attached) ─► frames_sent
//     ─► hook (tests: may drop or replace)           ─► dropped_hook
//     ─► len > mtu + 18 ?                             ─► dropped_too_big
//     ─► rate limit: bytes not yet serialised + len > queue_limit_bytes ?
//                                                     ─► dropped_queue_full
//        serialised after the frames ahead of it: done = max(now, busy) + len*8/rate
//     ─► loss (it still used its serialisation slot)  ─► dropped_loss
//     ─► corrupt: one random bit of a *copy* flipped  ─► corrupted
//     ─► duplicate: a copy arrives with the original  ─► duplicated
//     ─► reorder: + random extra delay in [1ns, reorder_extra]   ─► reordered
//     ─► event queue at done + latency (+ extra) ─► node.receive() ─► frames_delivered
//
// Ordering is deterministic: events are ordered by (time, sequence number of
// insertion), each link direction has its own seeded generator, and nodes are
// polled in the order they were added. Same seeds and same nodes → same run.
//
// Ownership. Frames in flight are buf::Packets held in the event queue; they come
// from whatever pool the sending node used, except duplicates and corrupted copies,
// which come from the network's copy pool (owned, or supplied in the options).
// Therefore: a node's pool must outlive the frames in flight that it sent (call
// drop_in_flight() before destroying such a pool), and packets from the network's
// own copy pool that a node keeps must be dropped before the network is destroyed
// (or supply a longer-lived copy_pool).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/random.h"
#include "joyride/base/time.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/buf/packet.h"
#include "joyride/dev/pcap_writer.h"
#include "joyride/dev/sim_node.h"

namespace joyride::dev::sim {

// Ethernet header + FCS allowance on top of the MTU when checking frame length.
inline constexpr uint32_t kEthernetOverhead = 14 + 4;

struct LinkParams {
  base::Duration latency = base::Duration::zero();  // propagation delay
  uint64_t rate_bps = 0;                // 0: unlimited (no serialisation delay, no queue)
  uint64_t queue_limit_bytes = 256 * 1024;  // rate-limited links: bytes waiting or on the wire
  uint32_t mtu = 1500;                  // 0: no check; else frames > mtu + 18 bytes dropped
  double loss = 0.0;                    // probabilities, each in [0, 1]
  double reorder = 0.0;                 // frame delayed by an extra random amount...
  base::Duration reorder_extra = base::Duration::millis(1);  // ...in [1ns, reorder_extra]
  double duplicate = 0.0;
  double corrupt = 0.0;
  uint64_t seed = 1;                    // each direction derives its own generator from it
};

enum class LinkCounter : uint8_t {
  kFramesSent,
  kBytesSent,
  kFramesDelivered,
  kBytesDelivered,
  kDroppedHook,
  kDroppedTooBig,
  kDroppedQueueFull,
  kDroppedLoss,
  kReordered,
  kDuplicated,
  kCorrupted,
  kCopyFailed,  // the copy pool ran dry: no duplicate made / frame left uncorrupted
  kCount
};

constexpr std::array<std::string_view, 12> counter_names(LinkCounter) {
  return {"frames_sent",   "bytes_sent",          "frames_delivered",   "bytes_delivered",
          "dropped_hook",  "dropped_too_big",     "dropped_queue_full", "dropped_loss",
          "reordered",     "duplicated",          "corrupted",          "copy_failed"};
}

enum class NetworkCounter : uint8_t {
  kTxNoLink,         // a node sent on a port with no link
  kStepsAtOneInstant,  // run_* gave up: too many steps without time moving (livelock)
  kCount
};

constexpr std::array<std::string_view, 2> counter_names(NetworkCounter) {
  return {"tx_no_link", "steps_at_one_instant"};
}

using LinkCounters = base::CounterSet<LinkCounter>;
using NodeId = uint32_t;
using LinkId = uint32_t;

// One end of a link: a node and one of its ports.
struct PortRef {
  NodeId node = 0;
  uint32_t port = 0;
};

// The two directions of a link made by connect(a, b, ...).
enum class LinkDir : uint8_t { kAtoB = 0, kBtoA = 1 };

// Tests only (it is a std::function): see or change each frame entering a link
// direction. Return false, or leave the packet empty, to drop it (dropped_hook).
using FrameHook = std::function<bool(buf::Packet&)>;

struct SimNetworkOptions {
  base::Instant start = base::Instant::from_nanos(0);
  // The pool duplicates and corrupted copies are made in. nullptr: the network owns
  // a HeapPacketPool of copy_pool_segments blocks of copy_pool_segment_capacity bytes.
  buf::PacketPool* copy_pool = nullptr;
  uint32_t copy_pool_segments = 4096;
  uint32_t copy_pool_segment_capacity = buf::HeapPacketPool::kDefaultSegmentCapacity;
  // run_until_idle/run_until give up (return false) after this many consecutive steps
  // at one instant, e.g. two nodes bouncing a frame over a zero-latency link.
  uint64_t max_steps_at_one_instant = 1'000'000;
};

class SimNetwork {
 public:
  explicit SimNetwork(const SimNetworkOptions& options = SimNetworkOptions());
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // ---- Topology ----
  // Registers a node (not owned; it must outlive the network's use of it). Adding
  // the same node twice returns its existing id.
  NodeId add_node(SimNode& node);
  // A full-duplex link between two distinct, unconnected ports. LinkDir::kAtoB is
  // a → b. Connecting a port twice is a programming error (asserts; returns the
  // existing link in release builds).
  LinkId connect(PortRef a, PortRef b, const LinkParams& params);
  // Change a link's parameters (both directions) from now on; the generators keep
  // their state (params.seed is ignored). Frames already queued keep their times.
  void set_params(LinkId link, const LinkParams& params);
  const LinkParams& params(LinkId link) const;
  void set_hook(LinkId link, LinkDir dir, FrameHook hook);
  // Record every frame entering the link, in both directions, at transmit time with
  // the simulated time, into a pcap file at `path` (replacing any earlier capture of
  // this link). False when the file cannot be created.
  bool capture(LinkId link, const std::string& path);
  // Stop (and flush/close) the link's capture.
  void stop_capture(LinkId link);
  size_t node_count() const;
  size_t link_count() const;

  // ---- Counters ----
  const LinkCounters& counters(LinkId link, LinkDir dir) const;
  const base::CounterSet<NetworkCounter>& network_counters() const { return net_counters_; }

  // ---- Injection ----
  // Transmit `frame` from `from` at now(), exactly as if that node had sent it from
  // poll(). (Tests use it to inject frames; dropped and counted if unconnected.)
  void transmit(PortRef from, buf::Packet frame);
  // Frees every frame in flight (e.g. before destroying the pool a node sent from).
  void drop_in_flight();

  // ---- Run control ----
  base::Instant now() const { return now_; }
  // The next instant something happens (a frame arrives or a node deadline comes);
  // never() when there is nothing pending. Never earlier than now().
  base::Instant next_event_time() const;
  size_t frames_in_flight() const;
  // Advance the clock to next_event_time(), deliver every frame due then (in
  // sequence order), then poll, in node order, each node that received a frame or
  // whose deadline has come. Frames sent by those polls that are due at the same
  // instant are handled by the next step. False (nothing done) when idle.
  bool step();
  // Run every step up to and including now() + d, then set the clock to now() + d.
  void advance(base::Duration d);
  // Steps until no frames are in flight and every node's deadline is never() or
  // after `limit`: true. False when the limit was reached with work remaining (the
  // clock is then at `limit`) or when time stopped moving (see options).
  bool run_until_idle(base::Instant limit);
  // Steps until pred() is true (checked before the first step and after each):
  // true. False when the next event would be after `limit` or nothing is pending
  // (the clock is then at `limit`, if that is not never()), or on livelock.
  bool run_until(const std::function<bool()>& pred, base::Instant limit);

 private:
  struct Direction;
  struct Link;
  struct NodeEntry;
  struct Event;
  class NodeTx;

  Direction& dir_state(LinkId link, LinkDir dir);
  void enter_link(Link& link, Direction& d, buf::Packet frame);
  bool impair(const LinkParams& p, Direction& d, buf::Packet& frame);
  void schedule(base::Instant at, LinkId link, uint8_t dir, buf::Packet frame);
  void deliver(Event& ev);
  base::Instant earliest_deadline() const;
  bool livelocked();

  SimNetworkOptions options_;
  base::Instant now_;
  // Declared before everything that may hold its packets, so it is destroyed last.
  std::unique_ptr<buf::HeapPacketPool> owned_pool_;
  buf::PacketPool* copy_pool_;
  std::vector<NodeEntry> nodes_;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<Event> events_;  // a min-heap on (at, seq)
  uint64_t next_seq_ = 0;
  uint64_t steps_at_instant_ = 0;
  base::Instant last_step_at_ = base::Instant::never();
  base::CounterSet<NetworkCounter> net_counters_;
  std::vector<uint8_t> polled_;  // per node, scratch for step()
};

}  // namespace joyride::dev::sim
