#include "joyride/dev/sim_network.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <limits>
#include <utility>

namespace joyride::dev::sim {

using base::Duration;
using base::Instant;

namespace {

// Uniform in [0, bound) for 64-bit bounds (multiply-high; the bias is below 2^-64·bound).
uint64_t random_below(base::RandomSource& rng, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng.next_u64()) * bound) >> 64);
}

// Time to put `bytes` on a wire of `rate_bps`, rounded up to the next nanosecond.
Duration serialisation_delay(size_t bytes, uint64_t rate_bps) {
  const unsigned __int128 bits_ns = static_cast<unsigned __int128>(bytes) * 8u * 1'000'000'000u;
  return Duration::nanos(static_cast<int64_t>((bits_ns + rate_bps - 1) / rate_bps));
}

// Flip bit `bit` (0 = most significant bit of the first byte) of a writable packet.
void flip_bit(buf::Packet& frame, uint64_t bit) {
  uint64_t byte = bit / 8;
  for (buf::Segment* s = frame.head(); s != nullptr; s = s->next) {
    if (byte < s->data_len) {
      s->data()[byte] ^= static_cast<uint8_t>(0x80u >> (bit % 8));
      return;
    }
    byte -= s->data_len;
  }
}

constexpr uint64_t kReverseSeedSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

// One direction of a link: its generator, counters, hook and transmit queue.
struct SimNetwork::Direction {
  Direction(uint8_t i, uint64_t seed) : index(i), rng(seed) {}
  uint8_t index;  // 0: a → b, 1: b → a
  PortRef from;
  PortRef to;
  base::SeededRandom rng;
  LinkCounters counters;
  FrameHook hook;
  // The rate limiter: when the wire is free again, and the frames not yet fully
  // serialised (their finish times and sizes, oldest first).
  Instant busy_until = Instant::from_nanos(std::numeric_limits<int64_t>::min());
  struct Queued {
    Instant done;
    size_t bytes;
  };
  std::deque<Queued> backlog;
  uint64_t backlog_bytes = 0;
};

struct SimNetwork::Link {
  Link(LinkId i, const LinkParams& p, PortRef a, PortRef b)
      : id(i), params(p), dirs{Direction(0, p.seed), Direction(1, p.seed ^ kReverseSeedSalt)} {
    dirs[0].from = a;
    dirs[0].to = b;
    dirs[1].from = b;
    dirs[1].to = a;
  }
  LinkId id;
  LinkParams params;
  std::array<Direction, 2> dirs;
  std::unique_ptr<PcapWriter> pcap;
};

struct SimNetwork::NodeEntry {
  struct Attachment {
    uint32_t port;
    LinkId link;
    uint8_t dir;  // the direction this port transmits into
  };
  SimNode* node;
  std::vector<Attachment> ports;
};

struct SimNetwork::Event {
  Instant at;
  uint64_t seq;
  LinkId link;
  uint8_t dir;
  buf::Packet frame;
};

namespace {
// Heap order: the top is the earliest (at, seq).
template <typename E>
bool later(const E& a, const E& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}
}  // namespace

class SimNetwork::NodeTx final : public TxFn {
 public:
  NodeTx(SimNetwork& net, NodeId id) : net_(net), id_(id) {}
  void operator()(uint32_t port, buf::Packet frame) override {
    net_.transmit(PortRef{id_, port}, std::move(frame));
  }

 private:
  SimNetwork& net_;
  NodeId id_;
};

SimNetwork::SimNetwork(const SimNetworkOptions& options) : options_(options), now_(options.start) {
  if (options_.copy_pool != nullptr) {
    copy_pool_ = options_.copy_pool;
  } else {
    owned_pool_ = std::make_unique<buf::HeapPacketPool>(options_.copy_pool_segments,
                                                        options_.copy_pool_segment_capacity);
    copy_pool_ = owned_pool_.get();
  }
}

SimNetwork::~SimNetwork() {
  // Frames in flight go back to their pools before the owned copy pool goes.
  events_.clear();
}

size_t SimNetwork::node_count() const { return nodes_.size(); }
size_t SimNetwork::link_count() const { return links_.size(); }
size_t SimNetwork::frames_in_flight() const { return events_.size(); }

NodeId SimNetwork::add_node(SimNode& node) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].node == &node) return static_cast<NodeId>(i);
  }
  nodes_.push_back(NodeEntry{&node, {}});
  return static_cast<NodeId>(nodes_.size() - 1);
}

LinkId SimNetwork::connect(PortRef a, PortRef b, const LinkParams& params) {
  assert(a.node < nodes_.size() && b.node < nodes_.size());
  assert(!(a.node == b.node && a.port == b.port));
  for (const PortRef& end : {a, b}) {
    for (const auto& at : nodes_[end.node].ports) {
      assert(at.port != end.port && "port already connected");
      if (at.port == end.port) return at.link;
    }
  }
  const auto id = static_cast<LinkId>(links_.size());
  links_.push_back(std::make_unique<Link>(id, params, a, b));
  nodes_[a.node].ports.push_back({a.port, id, 0});
  nodes_[b.node].ports.push_back({b.port, id, 1});
  return id;
}

void SimNetwork::set_params(LinkId link, const LinkParams& params) { links_.at(link)->params = params; }

const LinkParams& SimNetwork::params(LinkId link) const { return links_.at(link)->params; }

SimNetwork::Direction& SimNetwork::dir_state(LinkId link, LinkDir dir) {
  return links_.at(link)->dirs[static_cast<size_t>(dir)];
}

void SimNetwork::set_hook(LinkId link, LinkDir dir, FrameHook hook) { dir_state(link, dir).hook = std::move(hook); }

bool SimNetwork::capture(LinkId link, const std::string& path) {
  auto writer = std::make_unique<PcapWriter>(path);
  if (!writer->ok()) return false;
  links_.at(link)->pcap = std::move(writer);
  return true;
}

void SimNetwork::stop_capture(LinkId link) { links_.at(link)->pcap.reset(); }

const LinkCounters& SimNetwork::counters(LinkId link, LinkDir dir) const {
  return links_.at(link)->dirs[static_cast<size_t>(dir)].counters;
}

void SimNetwork::transmit(PortRef from, buf::Packet frame) {
  if (frame.empty()) return;
  if (from.node < nodes_.size()) {
    for (const auto& at : nodes_[from.node].ports) {
      if (at.port == from.port) {
        Link& link = *links_[at.link];
        enter_link(link, link.dirs[at.dir], std::move(frame));
        return;
      }
    }
  }
  net_counters_.inc(NetworkCounter::kTxNoLink);
}

void SimNetwork::drop_in_flight() { events_.clear(); }

// The frame's way through one link direction (see the diagram in the header).
void SimNetwork::enter_link(Link& link, Direction& d, buf::Packet frame) {
  const LinkParams& p = link.params;
  if (link.pcap) link.pcap->write(now_, frame);
  d.counters.inc(LinkCounter::kFramesSent);
  d.counters.inc(LinkCounter::kBytesSent, frame.len());
  if (d.hook && (!d.hook(frame) || frame.empty())) {
    d.counters.inc(LinkCounter::kDroppedHook);
    return;
  }
  const size_t len = frame.len();
  if (p.mtu != 0 && len > static_cast<size_t>(p.mtu) + kEthernetOverhead) {
    d.counters.inc(LinkCounter::kDroppedTooBig);
    return;
  }
  Instant done = now_;
  if (p.rate_bps != 0) {
    while (!d.backlog.empty() && d.backlog.front().done <= now_) {
      d.backlog_bytes -= d.backlog.front().bytes;
      d.backlog.pop_front();
    }
    if (d.backlog_bytes + len > p.queue_limit_bytes) {
      d.counters.inc(LinkCounter::kDroppedQueueFull);
      return;
    }
    done = std::max(now_, d.busy_until) + serialisation_delay(len, p.rate_bps);
    d.busy_until = done;
    d.backlog.push_back({done, len});
    d.backlog_bytes += len;
  }
  if (!impair(p, d, frame)) return;
  buf::Packet dup;
  if (d.rng.chance(p.duplicate)) {
    dup = frame.copy(*copy_pool_, 0);
    d.counters.inc(dup.empty() ? LinkCounter::kCopyFailed : LinkCounter::kDuplicated);
  }
  Instant arrive = done + p.latency;
  if (d.rng.chance(p.reorder) && p.reorder_extra > Duration::zero()) {
    const auto extra = static_cast<uint64_t>(p.reorder_extra.as_nanos());
    arrive += Duration::nanos(static_cast<int64_t>(1 + random_below(d.rng, extra)));
    d.counters.inc(LinkCounter::kReordered);
  }
  schedule(arrive, link.id, d.index, std::move(frame));
  if (!dup.empty()) schedule(arrive, link.id, d.index, std::move(dup));
}

// Loss, then corruption of a copy. False when the frame is lost.
bool SimNetwork::impair(const LinkParams& p, Direction& d, buf::Packet& frame) {
  if (d.rng.chance(p.loss)) {
    d.counters.inc(LinkCounter::kDroppedLoss);
    return false;
  }
  if (d.rng.chance(p.corrupt) && frame.len() != 0) {
    // Never write into the sender's bytes: they may be shared with a clone the
    // sender keeps (a retransmission queue). Corrupt a private copy instead.
    buf::Packet copy = frame.copy(*copy_pool_, 0);
    if (copy.empty()) {
      d.counters.inc(LinkCounter::kCopyFailed);
      return true;
    }
    flip_bit(copy, random_below(d.rng, static_cast<uint64_t>(copy.len()) * 8));
    frame = std::move(copy);
    d.counters.inc(LinkCounter::kCorrupted);
  }
  return true;
}

void SimNetwork::schedule(Instant at, LinkId link, uint8_t dir, buf::Packet frame) {
  events_.push_back(Event{at, next_seq_++, link, dir, std::move(frame)});
  std::push_heap(events_.begin(), events_.end(), later<Event>);
}

Instant SimNetwork::earliest_deadline() const {
  Instant t = Instant::never();
  for (const NodeEntry& n : nodes_) t = base::earliest(t, n.node->next_deadline());
  return t;
}

Instant SimNetwork::next_event_time() const {
  Instant t = earliest_deadline();
  if (!events_.empty()) t = base::earliest(t, events_.front().at);
  if (t.is_never()) return t;
  return std::max(t, now_);
}

void SimNetwork::deliver(Event& ev) {
  Direction& d = links_[ev.link]->dirs[ev.dir];
  d.counters.inc(LinkCounter::kFramesDelivered);
  d.counters.inc(LinkCounter::kBytesDelivered, ev.frame.len());
  polled_[d.to.node] = 1;
  nodes_[d.to.node].node->receive(d.to.port, std::move(ev.frame), now_);
}

bool SimNetwork::step() {
  const Instant t = next_event_time();
  if (t.is_never()) return false;
  steps_at_instant_ = (t == last_step_at_) ? steps_at_instant_ + 1 : 1;
  last_step_at_ = t;
  now_ = t;
  polled_.assign(nodes_.size(), 0);
  while (!events_.empty() && events_.front().at <= now_) {
    std::pop_heap(events_.begin(), events_.end(), later<Event>);
    Event ev = std::move(events_.back());
    events_.pop_back();
    deliver(ev);
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    SimNode& node = *nodes_[i].node;
    if (polled_[i] != 0 || node.next_deadline() <= now_) {
      NodeTx tx(*this, static_cast<NodeId>(i));
      node.poll(now_, tx);
    }
  }
  return true;
}

bool SimNetwork::livelocked() {
  if (steps_at_instant_ <= options_.max_steps_at_one_instant) return false;
  net_counters_.inc(NetworkCounter::kStepsAtOneInstant);
  return true;
}

void SimNetwork::advance(Duration d) {
  const Instant target = now_ + d;
  while (next_event_time() <= target) {
    step();
    if (livelocked()) break;
  }
  now_ = std::max(now_, target);
}

bool SimNetwork::run_until_idle(Instant limit) {
  for (;;) {
    const Instant deadline = earliest_deadline();
    if (events_.empty() && (deadline.is_never() || deadline > limit)) return true;
    if (next_event_time() > limit) {
      if (!limit.is_never()) now_ = std::max(now_, limit);
      return false;
    }
    step();
    if (livelocked()) return false;
  }
}

bool SimNetwork::run_until(const std::function<bool()>& pred, Instant limit) {
  for (;;) {
    if (pred()) return true;
    const Instant t = next_event_time();
    if (t.is_never() || t > limit) {
      if (!limit.is_never()) now_ = std::max(now_, limit);
      return false;
    }
    step();
    if (livelocked()) return false;
  }
}

}  // namespace joyride::dev::sim
