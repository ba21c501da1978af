// SimNetwork: timing (latency, serialisation, queueing), drops and their counters,
// seeded impairments, determinism, and run control. No test sleeps or reads a clock.
#include "joyride/dev/sim_network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <map>
#include <set>

#include "dev/sim_test_nodes.h"

namespace joyride::dev::sim {
namespace {

using base::Duration;
using base::Instant;
using testing::EchoNode;
using testing::GeneratorNode;
using testing::SinkNode;
using testing::TickerNode;

constexpr Instant at_ms(int64_t ms) { return Instant::from_nanos(0) + Duration::millis(ms); }
constexpr Instant at_us(int64_t us) { return Instant::from_nanos(0) + Duration::micros(us); }

std::vector<Instant> arrival_times(const std::vector<testing::Received>& rx) {
  std::vector<Instant> out;
  for (const auto& r : rx) out.push_back(r.at);
  return out;
}

std::vector<uint8_t> expected_frame(uint32_t seq, size_t len) {
  buf::HeapPacketPool pool(16);
  return testing::bytes_of(testing::make_frame(pool, seq, len));
}

int differing_bits(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return -1;
  int n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
  return n;
}

TEST(SimNetworkTest, ClockStartsAtGivenInstantAndIdleStepDoesNothing) {
  SimNetworkOptions opts;
  opts.start = Instant::from_nanos(5000);
  SimNetwork net(opts);
  EXPECT_EQ(net.now(), Instant::from_nanos(5000));
  EXPECT_TRUE(net.next_event_time().is_never());
  EXPECT_FALSE(net.step());
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.now(), Instant::from_nanos(5000));
}

TEST(SimNetworkTest, LatencyIsExactBothWays) {
  GeneratorNode gen;
  EchoNode echo;
  SimNetwork net;
  const NodeId g = net.add_node(gen);
  const NodeId e = net.add_node(echo);
  EXPECT_EQ(net.add_node(gen), g);
  LinkParams p;
  p.latency = Duration::millis(10);
  const LinkId link = net.connect({g, 0}, {e, 0}, p);
  gen.plan(at_ms(0), 1, 100);

  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  ASSERT_EQ(echo.received_at.size(), 1u);
  EXPECT_EQ(echo.received_at[0], at_ms(10));
  ASSERT_EQ(gen.received.size(), 1u);
  EXPECT_EQ(gen.received[0].at, at_ms(20));
  EXPECT_EQ(gen.received[0].bytes, expected_frame(0, 100));
  EXPECT_EQ(net.now(), at_ms(20));
  for (LinkDir dir : {LinkDir::kAtoB, LinkDir::kBtoA}) {
    EXPECT_EQ(net.counters(link, dir)[LinkCounter::kFramesSent], 1u);
    EXPECT_EQ(net.counters(link, dir)[LinkCounter::kFramesDelivered], 1u);
    EXPECT_EQ(net.counters(link, dir)[LinkCounter::kBytesDelivered], 100u);
  }
}

TEST(SimNetworkTest, StepGoesToEachEventInTurn) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::micros(300);
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_us(100), 2, 64, Duration::micros(100));
  EXPECT_EQ(net.next_event_time(), at_us(100));
  EXPECT_TRUE(net.step());  // first send
  EXPECT_EQ(net.now(), at_us(100));
  EXPECT_EQ(net.frames_in_flight(), 1u);
  EXPECT_TRUE(net.step());  // second send
  EXPECT_EQ(net.now(), at_us(200));
  EXPECT_TRUE(net.step());  // first arrival
  EXPECT_EQ(net.now(), at_us(400));
  EXPECT_EQ(sink.received.size(), 1u);
  EXPECT_EQ(sink.polls, 1u);  // polled right after the delivery, at the same instant
  EXPECT_TRUE(net.step());
  EXPECT_EQ(net.now(), at_us(500));
  EXPECT_FALSE(net.step());
  EXPECT_EQ(net.now(), at_us(500));
}

TEST(SimNetworkTest, SerialisationDelayQueuesFramesBehindEachOther) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::millis(5);
  p.rate_bps = 8'000'000;  // one byte per microsecond
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 3, 1000);   // 1 ms each on the wire, back to back
  gen.plan(at_ms(10), 1, 500);   // the wire is idle again by then
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(arrival_times(sink.received),
            (std::vector<Instant>{at_ms(6), at_ms(7), at_ms(8), at_us(15'500)}));
}

TEST(SimNetworkTest, SerialisationRoundsUpToWholeNanoseconds) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.rate_bps = 3'000'000'000;  // 64 bytes = 512 bits = 170.67 ns
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 2, 64);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(arrival_times(sink.received),
            (std::vector<Instant>{Instant::from_nanos(171), Instant::from_nanos(342)}));
}

TEST(SimNetworkTest, BoundedQueueTailDropsAndCounts) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.rate_bps = 8'000'000;
  p.queue_limit_bytes = 2500;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 5, 1000);  // two fit (2000 bytes), three do not
  gen.plan(at_ms(1), 1, 1000);  // the first has left the wire: room again
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  const auto& c = net.counters(link, LinkDir::kAtoB);
  EXPECT_EQ(c[LinkCounter::kFramesSent], 6u);
  EXPECT_EQ(c[LinkCounter::kDroppedQueueFull], 3u);
  EXPECT_EQ(c[LinkCounter::kFramesDelivered], 3u);
  EXPECT_EQ(arrival_times(sink.received), (std::vector<Instant>{at_ms(1), at_ms(2), at_ms(3)}));
  std::vector<uint32_t> seqs;
  for (const auto& r : sink.received) seqs.push_back(testing::seq_of(r.bytes));
  EXPECT_EQ(seqs, (std::vector<uint32_t>{0, 1, 5}));
  EXPECT_EQ(net.counters(link, LinkDir::kBtoA)[LinkCounter::kFramesSent], 0u);
}

TEST(SimNetworkTest, FramesOverMtuAreDroppedAndCounted) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.mtu = 1500;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 1, 1518);
  gen.plan(at_ms(1), 1, 1519);
  gen.plan(at_ms(2), 1, 9000);
  gen.plan(at_ms(3), 1, 64);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.counters(link, LinkDir::kAtoB)[LinkCounter::kDroppedTooBig], 2u);
  ASSERT_EQ(sink.received.size(), 2u);
  EXPECT_EQ(sink.received[0].bytes.size(), 1518u);
  EXPECT_EQ(sink.received[1].bytes.size(), 64u);
}

TEST(SimNetworkTest, MtuZeroMeansNoCheck) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.mtu = 0;
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 1, 9018);  // a chained packet
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  ASSERT_EQ(sink.received.size(), 1u);
  EXPECT_EQ(sink.received[0].bytes, expected_frame(0, 9018));
}

TEST(SimNetworkTest, LossRateMatchesProbability) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::millis(1);
  p.loss = 0.1;
  p.seed = 42;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 20'000, 64, Duration::micros(1));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  const auto& c = net.counters(link, LinkDir::kAtoB);
  EXPECT_EQ(c[LinkCounter::kFramesSent], 20'000u);
  EXPECT_NEAR(static_cast<double>(c[LinkCounter::kDroppedLoss]), 2000.0, 200.0);
  EXPECT_EQ(c[LinkCounter::kDroppedLoss] + c[LinkCounter::kFramesDelivered], 20'000u);
  EXPECT_EQ(sink.received.size(), c[LinkCounter::kFramesDelivered]);
}

TEST(SimNetworkTest, DuplicatesAndReorderingMatchProbabilities) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::millis(1);
  p.duplicate = 0.05;
  p.reorder = 0.1;
  p.reorder_extra = Duration::micros(100);
  p.seed = 7;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  const uint32_t n = 10'000;
  gen.plan(at_ms(0), n, 100, Duration::micros(10));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  const auto& c = net.counters(link, LinkDir::kAtoB);
  EXPECT_NEAR(static_cast<double>(c[LinkCounter::kDuplicated]), 500.0, 100.0);
  EXPECT_NEAR(static_cast<double>(c[LinkCounter::kReordered]), 1000.0, 150.0);
  EXPECT_EQ(c[LinkCounter::kFramesDelivered], n + c[LinkCounter::kDuplicated]);
  EXPECT_EQ(c[LinkCounter::kCopyFailed], 0u);

  std::map<uint32_t, int> copies;
  uint32_t out_of_order = 0;
  uint32_t highest = 0;
  for (const auto& r : sink.received) {
    const uint32_t seq = testing::seq_of(r.bytes);
    EXPECT_EQ(r.bytes, expected_frame(seq, 100));
    if (++copies[seq] == 1 && seq < highest) ++out_of_order;
    highest = std::max(highest, seq);
  }
  EXPECT_EQ(copies.size(), n);
  uint64_t dup_seen = 0;
  for (const auto& [seq, k] : copies) dup_seen += static_cast<uint64_t>(k - 1);
  EXPECT_EQ(dup_seen, c[LinkCounter::kDuplicated]);
  // A delayed frame (up to 100 us) is overtaken by up to ten later ones.
  EXPECT_GT(out_of_order, 500u);
}

TEST(SimNetworkTest, CorruptionFlipsExactlyOneBitOfACopy) {
  GeneratorNode gen(4096, /*keep_clones=*/true);
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::micros(50);
  p.corrupt = 0.25;
  p.seed = 99;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  const uint32_t n = 2000;
  gen.plan(at_ms(0), n, 200, Duration::micros(20));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  const auto& c = net.counters(link, LinkDir::kAtoB);
  EXPECT_NEAR(static_cast<double>(c[LinkCounter::kCorrupted]), 500.0, 80.0);
  ASSERT_EQ(sink.received.size(), n);
  uint64_t corrupted_seen = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const int bits = differing_bits(sink.received[i].bytes, expected_frame(i, 200));
    ASSERT_TRUE(bits == 0 || bits == 1) << "frame " << i;
    corrupted_seen += static_cast<uint64_t>(bits);
  }
  EXPECT_EQ(corrupted_seen, c[LinkCounter::kCorrupted]);
  // The sender's clones share storage with what it sent: none of them changed.
  ASSERT_EQ(gen.sent_clones.size(), n);
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(testing::bytes_of(gen.sent_clones[i]), expected_frame(i, 200));
}

TEST(SimNetworkTest, CorruptionAlwaysLeavesSharedSenderBufferIntact) {
  GeneratorNode gen(64, /*keep_clones=*/true);
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.corrupt = 1.0;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 50, 1000, Duration::micros(1));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.counters(link, LinkDir::kAtoB)[LinkCounter::kCorrupted], 50u);
  ASSERT_EQ(sink.received.size(), 50u);
  for (uint32_t i = 0; i < 50; ++i) {
    EXPECT_EQ(differing_bits(sink.received[i].bytes, expected_frame(i, 1000)), 1);
    EXPECT_EQ(testing::bytes_of(gen.sent_clones[i]), expected_frame(i, 1000));
  }
}

struct RunTrace {
  std::vector<std::pair<int64_t, std::vector<uint8_t>>> arrivals;
  std::vector<uint64_t> counters;
  bool operator==(const RunTrace&) const = default;
};

RunTrace impaired_run(uint64_t seed) {
  GeneratorNode gen;
  EchoNode echo;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::micros(200);
  p.rate_bps = 100'000'000;
  p.queue_limit_bytes = 20'000;
  p.loss = 0.05;
  p.duplicate = 0.05;
  p.reorder = 0.1;
  p.reorder_extra = Duration::micros(300);
  p.corrupt = 0.05;
  p.seed = seed;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(echo), 0}, p);
  gen.plan(at_ms(0), 3000, 700, Duration::micros(60));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  RunTrace t;
  for (auto& r : gen.received) t.arrivals.emplace_back(r.at.as_nanos(), std::move(r.bytes));
  for (LinkDir d : {LinkDir::kAtoB, LinkDir::kBtoA}) {
    net.counters(link, d).for_each([&](std::string_view, uint64_t v) { t.counters.push_back(v); });
  }
  return t;
}

TEST(SimNetworkTest, SameSeedGivesIdenticalRun) {
  const RunTrace a = impaired_run(1234);
  const RunTrace b = impaired_run(1234);
  const RunTrace c = impaired_run(1235);
  EXPECT_GT(a.arrivals.size(), 2000u);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
}

TEST(SimNetworkTest, SimultaneousArrivalsFollowSendOrder) {
  GeneratorNode first;
  GeneratorNode second;
  SinkNode sink;
  SimNetwork net;
  const NodeId s = net.add_node(sink);
  const NodeId a = net.add_node(first);
  const NodeId b = net.add_node(second);
  LinkParams p;
  p.latency = Duration::millis(1);
  net.connect({b, 0}, {s, 1}, p);  // link order differs from node order on purpose
  net.connect({a, 0}, {s, 0}, p);
  first.plan(at_ms(0), 1, 64);
  second.plan(at_ms(0), 1, 64);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  ASSERT_EQ(sink.received.size(), 2u);
  EXPECT_EQ(sink.received[0].at, sink.received[1].at);
  EXPECT_EQ(sink.received[0].port, 0u);  // `first` was added (so polled) before `second`
  EXPECT_EQ(sink.received[1].port, 1u);
}

TEST(SimNetworkTest, RunUntilIdleReportsTheLimit) {
  buf::HeapPacketPool pool(4);  // outlives the nodes and the network
  EchoNode left;
  EchoNode right;
  SimNetwork net;
  const NodeId l = net.add_node(left);
  const NodeId r = net.add_node(right);
  LinkParams p;
  p.latency = Duration::millis(1);
  net.connect({l, 0}, {r, 0}, p);
  net.transmit({l, 0}, testing::make_frame(pool, 0, 64));  // bounces forever
  EXPECT_FALSE(net.run_until_idle(at_us(10'500)));
  EXPECT_EQ(net.now(), at_us(10'500));
  EXPECT_EQ(left.received_at.size() + right.received_at.size(), 10u);
  EXPECT_EQ(net.frames_in_flight(), 1u);
  EXPECT_FALSE(net.run_until_idle(at_ms(20)));
  EXPECT_EQ(left.received_at.size() + right.received_at.size(), 20u);
  net.drop_in_flight();
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
}

TEST(SimNetworkTest, RunUntilIdleRunsTimersUpToTheLimit) {
  TickerNode ticker(at_ms(0), Duration::millis(1));
  SimNetwork net;
  net.add_node(ticker);
  // A timer that keeps re-arming is idle once its next deadline is past the limit.
  EXPECT_TRUE(net.run_until_idle(at_ms(10)));
  EXPECT_EQ(net.now(), at_ms(10));
  EXPECT_EQ(ticker.ticks.size(), 11u);  // 0, 1, ..., 10 ms
  EXPECT_EQ(ticker.ticks.back(), at_ms(10));
}

TEST(SimNetworkTest, RunUntilIdleIgnoresDeadlinesBeyondTheLimit) {
  TickerNode ticker(Instant::from_nanos(0) + Duration::seconds(1), Duration::seconds(1));
  SimNetwork net;
  net.add_node(ticker);
  EXPECT_TRUE(net.run_until_idle(at_ms(10)));
  EXPECT_EQ(net.now(), at_ms(0));
  EXPECT_TRUE(ticker.ticks.empty());
}

TEST(SimNetworkTest, RunUntilIdleCountsFramesInFlightAsWork) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::seconds(1);
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 1, 64);
  EXPECT_FALSE(net.run_until_idle(at_ms(10)));
  EXPECT_EQ(net.now(), at_ms(10));
  EXPECT_EQ(net.frames_in_flight(), 1u);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.now(), at_ms(1000));
  EXPECT_EQ(sink.received.size(), 1u);
}

TEST(SimNetworkTest, RunUntilIdleGivesUpWhenTimeStopsMoving) {
  buf::HeapPacketPool pool(4);  // outlives the nodes and the network
  EchoNode left;
  EchoNode right;
  SimNetworkOptions opts;
  opts.max_steps_at_one_instant = 1000;
  SimNetwork net(opts);
  const NodeId l = net.add_node(left);
  const NodeId r = net.add_node(right);
  net.connect({l, 0}, {r, 0}, LinkParams{});  // zero latency, unlimited rate
  net.transmit({l, 0}, testing::make_frame(pool, 0, 64));
  EXPECT_FALSE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.network_counters()[NetworkCounter::kStepsAtOneInstant], 1u);
  EXPECT_EQ(net.now(), at_ms(0));
  net.drop_in_flight();
  EXPECT_EQ(net.frames_in_flight(), 0u);
}

TEST(SimNetworkTest, RunUntilStopsWhenPredicateHolds) {
  GeneratorNode gen;
  SinkNode sink;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::micros(500);
  net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 10, 64, Duration::millis(1));
  EXPECT_TRUE(net.run_until([&] { return sink.received.size() >= 3; }, Instant::never()));
  EXPECT_EQ(net.now(), at_us(2500));
  EXPECT_FALSE(net.run_until([] { return false; }, at_ms(100)));
  EXPECT_EQ(net.now(), at_ms(100));
  EXPECT_EQ(sink.received.size(), 10u);
}

TEST(SimNetworkTest, AdvanceRunsEverythingUpToTheTarget) {
  GeneratorNode gen;
  EchoNode echo;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::millis(10);
  net.connect({net.add_node(gen), 0}, {net.add_node(echo), 0}, p);
  gen.plan(at_ms(0), 1, 64);
  net.advance(Duration::millis(5));
  EXPECT_EQ(net.now(), at_ms(5));
  EXPECT_TRUE(echo.received_at.empty());
  net.advance(Duration::millis(5));
  EXPECT_EQ(net.now(), at_ms(10));
  EXPECT_EQ(echo.received_at, std::vector<Instant>{at_ms(10)});
  net.advance(Duration::millis(9));
  EXPECT_TRUE(gen.received.empty());
  net.advance(Duration::millis(1));
  ASSERT_EQ(gen.received.size(), 1u);
  EXPECT_EQ(gen.received[0].at, at_ms(20));
}

TEST(SimNetworkTest, HookDropsAndAltersFrames) {
  GeneratorNode gen;
  SinkNode sink;
  buf::HeapPacketPool hook_pool(64);
  SimNetwork net;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, LinkParams{});
  net.set_hook(link, LinkDir::kAtoB, [&](buf::Packet& frame) {
    const auto bytes = testing::bytes_of(frame);
    if (testing::seq_of(bytes) % 2 == 0) return false;
    auto changed = bytes;
    changed[20] = 0xee;
    frame = hook_pool.alloc(0);
    return frame.append_bytes(changed, hook_pool);
  });
  gen.plan(at_ms(0), 6, 64, Duration::millis(1));
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.counters(link, LinkDir::kAtoB)[LinkCounter::kDroppedHook], 3u);
  ASSERT_EQ(sink.received.size(), 3u);
  for (const auto& r : sink.received) {
    EXPECT_EQ(testing::seq_of(r.bytes) % 2, 1u);
    EXPECT_EQ(r.bytes[20], 0xee);
  }
}

TEST(SimNetworkTest, SendingOnAnUnconnectedPortIsCounted) {
  GeneratorNode gen;
  SimNetwork net;
  net.add_node(gen);
  gen.plan(at_ms(0), 2, 64, Duration::zero(), /*port=*/7);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  EXPECT_EQ(net.network_counters()[NetworkCounter::kTxNoLink], 2u);
  EXPECT_EQ(gen.pool().available_segments(), gen.pool().total_segments());
}

TEST(SimNetworkTest, CopyPoolExhaustionIsCounted) {
  buf::HeapPacketPool copies(1);
  GeneratorNode gen;
  SinkNode sink;
  SimNetworkOptions opts;
  opts.copy_pool = &copies;
  SimNetwork net(opts);
  LinkParams p;
  p.latency = Duration::millis(1);
  p.duplicate = 1.0;
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(sink), 0}, p);
  gen.plan(at_ms(0), 10, 64);  // all in flight at once: one copy fits in the pool
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  const auto& c = net.counters(link, LinkDir::kAtoB);
  EXPECT_EQ(c[LinkCounter::kDuplicated], 1u);
  EXPECT_EQ(c[LinkCounter::kCopyFailed], 9u);
  EXPECT_EQ(sink.received.size(), 11u);
  EXPECT_EQ(copies.available_segments(), 1u);
}

TEST(SimNetworkTest, CounterNamesAreStable) {
  std::vector<std::string> names;
  LinkCounters c;
  c.for_each([&](std::string_view name, uint64_t) { names.emplace_back(name); });
  EXPECT_EQ(names, (std::vector<std::string>{"frames_sent", "bytes_sent", "frames_delivered", "bytes_delivered",
                                             "dropped_hook", "dropped_too_big", "dropped_queue_full",
                                             "dropped_loss", "reordered", "duplicated", "corrupted",
                                             "copy_failed"}));
}

}  // namespace
}  // namespace joyride::dev::sim
