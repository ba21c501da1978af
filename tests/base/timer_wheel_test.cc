#include "joyride/base/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "joyride/base/random.h"

namespace joyride::base {
namespace {

constexpr Instant kStart = Instant::from_nanos(1'000'000'000);

Instant at_ms(int64_t ms) { return kStart + Duration::millis(ms); }

struct Fired {
  int id;
  Instant deadline;
  Instant now;
};

// An owner that embeds its timer, as a TCP connection would.
struct Owner {
  Owner(int owner_id, std::vector<Fired>* fired_log) : id(owner_id), log(fired_log), timer(&on_fire, this) {}

  static void on_fire(void* context, Instant now) {
    auto* self = static_cast<Owner*>(context);
    EXPECT_FALSE(self->timer.armed());
    EXPECT_LE(self->timer.deadline(), now) << "fired early";
    self->log->push_back({self->id, self->timer.deadline(), now});
    if (self->hook) self->hook(*self, now);
  }

  int id;
  std::vector<Fired>* log;
  Timer timer;
  std::function<void(Owner&, Instant)> hook;
};

TEST(TimerWheelTest, SingleTimerFiresAtDeadlineNotBefore) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  wheel.arm(a.timer, at_ms(10));
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(a.timer.deadline(), at_ms(10));
  EXPECT_EQ(wheel.armed_count(), 1u);
  EXPECT_EQ(wheel.next_deadline(), at_ms(10));

  EXPECT_EQ(wheel.advance(at_ms(9)), 0u);
  EXPECT_EQ(wheel.advance(at_ms(10) - Duration::nanos(1)), 0u);
  EXPECT_EQ(wheel.advance(at_ms(10)), 1u);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].now, at_ms(10));
  EXPECT_FALSE(a.timer.armed());
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.next_deadline(), Instant::never());
  EXPECT_EQ(wheel.advance(at_ms(100)), 0u);
}

TEST(TimerWheelTest, DeadlineInsideATickIsExact) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  const Instant deadline = at_ms(5) + Duration::micros(700);
  wheel.arm(a.timer, deadline);
  EXPECT_EQ(wheel.next_deadline(), deadline);
  EXPECT_EQ(wheel.advance(at_ms(5)), 0u);
  EXPECT_EQ(wheel.advance(at_ms(5) + Duration::micros(699)), 0u);
  EXPECT_EQ(wheel.next_deadline(), deadline);
  EXPECT_EQ(wheel.advance(deadline), 1u);
}

TEST(TimerWheelTest, PastDeadlineFiresAtNextAdvance) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  Owner b(2, &log);
  wheel.advance(at_ms(50));
  wheel.arm(a.timer, at_ms(3));
  wheel.arm(b.timer, kStart - Duration::seconds(5));  // before the wheel's start
  EXPECT_EQ(wheel.next_deadline(), kStart - Duration::seconds(5));
  EXPECT_EQ(wheel.advance(at_ms(50)), 2u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].id, 2);
  EXPECT_EQ(log[1].id, 1);
}

TEST(TimerWheelTest, RearmMovesAndCancelIsIdempotent) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  wheel.arm(a.timer, at_ms(10));
  wheel.arm(a.timer, at_ms(5000));
  EXPECT_EQ(wheel.armed_count(), 1u);
  EXPECT_EQ(wheel.next_deadline(), at_ms(5000));
  EXPECT_EQ(wheel.advance(at_ms(4999)), 0u);
  wheel.arm(a.timer, at_ms(4000));  // earlier than now: due at the next advance
  EXPECT_EQ(wheel.advance(at_ms(4999)), 1u);
  wheel.arm(a.timer, at_ms(6000));
  wheel.cancel(a.timer);
  wheel.cancel(a.timer);
  a.timer.cancel();
  EXPECT_FALSE(a.timer.armed());
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.advance(at_ms(10'000)), 0u);
}

TEST(TimerWheelTest, FiresInDeadlineOrderAcrossLevelsAndWithinATick) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  SeededRandom rng(7);
  std::vector<std::unique_ptr<Owner>> owners;
  for (int i = 0; i < 2000; ++i) {
    owners.push_back(std::make_unique<Owner>(i, &log));
    // Dense ticks (many timers share one) and sub-tick offsets.
    const Instant d = at_ms(rng.uniform(3000)) + Duration::micros(rng.uniform(1000));
    wheel.arm(owners.back()->timer, d);
  }
  EXPECT_EQ(wheel.advance(at_ms(3000)), 2000u);
  ASSERT_EQ(log.size(), 2000u);
  for (size_t i = 1; i < log.size(); ++i) EXPECT_LE(log[i - 1].deadline, log[i].deadline);
}

TEST(TimerWheelTest, EqualDeadlinesFireInArmOrder) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  std::vector<std::unique_ptr<Owner>> owners;
  for (int i = 0; i < 10; ++i) {
    owners.push_back(std::make_unique<Owner>(i, &log));
    wheel.arm(owners.back()->timer, at_ms(70'000));
  }
  EXPECT_EQ(wheel.advance(at_ms(80'000)), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(log[i].id, i);
}

TEST(TimerWheelTest, PeriodicTimerRearmsItself) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  a.hook = [&wheel](Owner& self, Instant) { wheel.arm(self.timer, self.timer.deadline() + Duration::millis(10)); };
  wheel.arm(a.timer, at_ms(10));
  for (int ms = 1; ms <= 1000; ++ms) wheel.advance(at_ms(ms));
  ASSERT_EQ(log.size(), 100u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].deadline, at_ms(10 * static_cast<int64_t>(i + 1)));
    EXPECT_EQ(log[i].now, log[i].deadline);  // never late
  }
}

TEST(TimerWheelTest, RearmAtNowFromCallbackWaitsForNextAdvance) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  a.hook = [&wheel](Owner& self, Instant now) { wheel.arm(self.timer, now); };
  wheel.arm(a.timer, at_ms(1));
  EXPECT_EQ(wheel.advance(at_ms(5)), 1u);  // does not loop forever
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(wheel.next_deadline(), at_ms(5));
  EXPECT_EQ(wheel.advance(at_ms(5)), 1u);
  EXPECT_EQ(wheel.advance(at_ms(6)), 1u);
  EXPECT_EQ(log.size(), 3u);
  a.hook = nullptr;
  EXPECT_EQ(wheel.advance(at_ms(7)), 1u);
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheelTest, CallbackCancelsAnotherDueTimer) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  Owner b(2, &log);
  Owner c(3, &log);
  a.hook = [&](Owner&, Instant) { wheel.cancel(b.timer); };
  wheel.arm(a.timer, at_ms(10));
  wheel.arm(b.timer, at_ms(10));  // same tick, after a
  wheel.arm(c.timer, at_ms(20));  // a later tick of the same advance
  EXPECT_EQ(wheel.advance(at_ms(30)), 2u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].id, 1);
  EXPECT_EQ(log[1].id, 3);
  EXPECT_FALSE(b.timer.armed());
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheelTest, CallbackCancelsAndRearmsTimersOfLaterTicks) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  Owner a(1, &log);
  Owner b(2, &log);
  Owner c(3, &log);
  a.hook = [&](Owner&, Instant) {
    wheel.cancel(b.timer);                   // due later in this advance
    wheel.arm(c.timer, at_ms(200'000));      // due later in this advance; moved out
  };
  wheel.arm(a.timer, at_ms(10));
  wheel.arm(b.timer, at_ms(5'000));
  wheel.arm(c.timer, at_ms(100'000));
  EXPECT_EQ(wheel.advance(at_ms(150'000)), 1u);
  EXPECT_TRUE(c.timer.armed());
  EXPECT_EQ(wheel.next_deadline(), at_ms(200'000));
  EXPECT_EQ(wheel.advance(at_ms(200'000)), 1u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].id, 3);
}

TEST(TimerWheelTest, CallbackDestroysAnotherDueTimerAndItself) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  auto a = std::make_unique<Owner>(1, &log);
  auto b = std::make_unique<Owner>(2, &log);
  Owner* raw_a = a.release();
  raw_a->hook = [&b](Owner& self, Instant) {
    b.reset();
    delete &self;  // an owner freed from its own timer callback
  };
  wheel.arm(raw_a->timer, at_ms(10));
  wheel.arm(b->timer, at_ms(10));
  EXPECT_EQ(wheel.advance(at_ms(10)), 1u);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.next_deadline(), Instant::never());
}

TEST(TimerWheelTest, DestroyWhileArmedCancels) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  {
    Owner a(1, &log);
    Owner b(2, &log);
    wheel.arm(a.timer, at_ms(10));
    wheel.arm(b.timer, at_ms(1'000'000'000));
    EXPECT_EQ(wheel.armed_count(), 2u);
  }
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.next_deadline(), Instant::never());
  EXPECT_EQ(wheel.advance(at_ms(2'000'000'000)), 0u);
  EXPECT_TRUE(log.empty());
}

TEST(TimerWheelTest, WheelDestroyedBeforeItsTimers) {
  std::vector<Fired> log;
  Owner a(1, &log);
  {
    TimerWheel wheel(kStart);
    wheel.arm(a.timer, at_ms(10));
  }
  EXPECT_FALSE(a.timer.armed());
  a.timer.cancel();
}

TEST(TimerWheelTest, TimerMovesBetweenWheels) {
  std::vector<Fired> log;
  TimerWheel w1(kStart);
  TimerWheel w2(kStart);
  Owner a(1, &log);
  w1.arm(a.timer, at_ms(10));
  w2.arm(a.timer, at_ms(20));
  EXPECT_EQ(w1.armed_count(), 0u);
  EXPECT_EQ(w2.armed_count(), 1u);
  w1.cancel(a.timer);  // not armed on w1: no-op
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(w1.advance(at_ms(30)), 0u);
  EXPECT_EQ(w2.advance(at_ms(30)), 1u);
}

TEST(TimerWheelTest, NextDeadlineTracksArmCancelAndAdvance) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  EXPECT_EQ(wheel.next_deadline(), Instant::never());
  Owner a(1, &log);
  Owner b(2, &log);
  Owner c(3, &log);
  wheel.arm(a.timer, at_ms(500'000));  // a high level
  EXPECT_EQ(wheel.next_deadline(), at_ms(500'000));
  wheel.arm(b.timer, at_ms(70) + Duration::nanos(3));
  EXPECT_EQ(wheel.next_deadline(), at_ms(70) + Duration::nanos(3));
  wheel.arm(c.timer, at_ms(9000));
  EXPECT_EQ(wheel.next_deadline(), at_ms(70) + Duration::nanos(3));
  wheel.cancel(b.timer);
  EXPECT_EQ(wheel.next_deadline(), at_ms(9000));
  wheel.advance(at_ms(100));  // nothing due; cascades nothing relevant
  EXPECT_EQ(wheel.next_deadline(), at_ms(9000));
  wheel.advance(at_ms(9000));
  EXPECT_EQ(wheel.next_deadline(), at_ms(500'000));
  wheel.arm(c.timer, at_ms(499'999));
  EXPECT_EQ(wheel.next_deadline(), at_ms(499'999));
  wheel.advance(at_ms(499'999));
  EXPECT_EQ(wheel.next_deadline(), at_ms(500'000));
  wheel.advance(at_ms(600'000));
  EXPECT_EQ(wheel.next_deadline(), Instant::never());
}

TEST(TimerWheelTest, HugeDeadlinesUseTheOverflowList) {
  std::vector<Fired> log;
  // A 1 ns tick makes the wheel's range 2^36 ns (about 69 s).
  TimerWheel wheel(kStart, Duration::nanos(1));
  Owner a(1, &log);
  Owner b(2, &log);
  Owner c(3, &log);
  Owner never(4, &log);
  const int64_t year_s = 365LL * 86400;
  wheel.arm(a.timer, kStart + Duration::seconds(200 * year_s));
  wheel.arm(b.timer, kStart + Duration::seconds(3600));
  wheel.arm(c.timer, kStart + Duration::seconds(100));
  wheel.arm(never.timer, Instant::never());
  EXPECT_EQ(wheel.next_deadline(), kStart + Duration::seconds(100));
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(99)), 0u);
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(100)), 1u);
  EXPECT_EQ(wheel.next_deadline(), kStart + Duration::seconds(3600));
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(3600) - Duration::nanos(1)), 0u);
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(3600)), 1u);
  EXPECT_EQ(wheel.next_deadline(), kStart + Duration::seconds(200 * year_s));
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(200 * year_s) - Duration::nanos(1)), 0u);
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(200 * year_s)), 1u);
  EXPECT_EQ(wheel.armed_count(), 1u);
  EXPECT_EQ(wheel.next_deadline(), Instant::never());  // only the never() timer is left
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].id, 3);
  EXPECT_EQ(log[1].id, 2);
  EXPECT_EQ(log[2].id, 1);
}

TEST(TimerWheelTest, BigJumpsDoNotWalkEveryTick) {
  std::vector<Fired> log;
  // With a 1 ns tick an hour is 3.6e12 ticks: a per-tick loop would never finish.
  TimerWheel wheel(kStart, Duration::nanos(1));
  Owner a(1, &log);
  a.hook = [&wheel](Owner& self, Instant) { wheel.arm(self.timer, self.timer.deadline() + Duration::seconds(600)); };
  wheel.arm(a.timer, kStart + Duration::seconds(600));
  for (int hour = 1; hour <= 24; ++hour) wheel.advance(kStart + Duration::seconds(3600) * hour);
  // One firing per advance (a re-arm for a deadline already passed waits for the next).
  EXPECT_EQ(log.size(), 24u);
  for (const Fired& f : log) EXPECT_LE(f.deadline, f.now);
}

TEST(TimerWheelTest, ManyTimersOverAnHourInOneAdvance) {
  std::vector<Fired> log;
  TimerWheel wheel(kStart);
  SeededRandom rng(99);
  std::vector<std::unique_ptr<Owner>> owners;
  for (int i = 0; i < 20'000; ++i) {
    owners.push_back(std::make_unique<Owner>(i, &log));
    wheel.arm(owners.back()->timer, kStart + Duration::micros(rng.uniform(3'600'000'000u)));
  }
  EXPECT_EQ(wheel.advance(kStart + Duration::seconds(3600)), 20'000u);
  for (size_t i = 1; i < log.size(); ++i) ASSERT_LE(log[i - 1].deadline, log[i].deadline);
}

// Random interleaving of arm, cancel and advance checked against a sorted model.
class TimerWheelModelTest : public ::testing::TestWithParam<int64_t> {};

Duration random_span(SeededRandom& rng, int max_bits) {
  const int bits = static_cast<int>(rng.uniform(static_cast<uint32_t>(max_bits) + 1));
  const uint64_t limit = uint64_t{1} << bits;
  return Duration::nanos(static_cast<int64_t>(rng.next_u64() & (limit - 1)));
}

TEST_P(TimerWheelModelTest, MatchesReferenceModel) {
  const Duration tick = Duration::nanos(GetParam());
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SeededRandom rng(seed * 1000 + static_cast<uint64_t>(GetParam()));
    std::vector<Fired> log;
    TimerWheel wheel(kStart, tick);
    constexpr int kTimers = 300;
    std::vector<std::unique_ptr<Owner>> owners;
    for (int i = 0; i < kTimers; ++i) owners.push_back(std::make_unique<Owner>(i, &log));
    std::map<int, Instant> model;  // id -> deadline of armed timers
    Instant now = kStart;
    for (int step = 0; step < 6000; ++step) {
      const uint32_t op = rng.uniform(100);
      const int id = static_cast<int>(rng.uniform(kTimers));
      if (op < 45) {
        // Deadlines from sub-tick to far beyond the top level; some already past.
        Instant d = now + random_span(rng, 50);
        if (rng.chance(0.05)) d = now - random_span(rng, 30);
        wheel.arm(owners[id]->timer, d);
        model[id] = d;
      } else if (op < 60) {
        wheel.cancel(owners[id]->timer);
        model.erase(id);
      } else if (op < 62) {
        owners[id] = std::make_unique<Owner>(id, &log);  // destroy while (maybe) armed
        model.erase(id);
      } else {
        now += rng.chance(0.1) ? Duration::zero() : random_span(rng, rng.chance(0.1) ? 52 : 32);
        log.clear();
        const size_t fired = wheel.advance(now);
        std::vector<std::pair<Instant, int>> expected;
        for (auto it = model.begin(); it != model.end();) {
          if (it->second <= now) {
            expected.emplace_back(it->second, it->first);
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        std::sort(expected.begin(), expected.end());
        ASSERT_EQ(fired, expected.size()) << "step " << step;
        ASSERT_EQ(log.size(), expected.size());
        std::vector<std::pair<Instant, int>> got;
        for (size_t i = 0; i < log.size(); ++i) {
          if (i > 0) {
            ASSERT_LE(log[i - 1].deadline, log[i].deadline) << "out of order";
          }
          got.emplace_back(log[i].deadline, log[i].id);
        }
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, expected) << "step " << step;
      }
      ASSERT_EQ(wheel.armed_count(), model.size());
      Instant earliest_deadline = Instant::never();
      for (const auto& [tid, d] : model) earliest_deadline = earliest(earliest_deadline, d);
      ASSERT_EQ(wheel.next_deadline(), earliest_deadline) << "step " << step;
      ASSERT_EQ(owners[id]->timer.armed(), model.count(id) == 1);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ticks, TimerWheelModelTest, ::testing::Values(1, 1000, 1'000'000, 7'777));

// Callbacks that arm, re-arm and cancel random timers, checked against the model: a
// timer armed from a callback with a deadline <= now fires at the next advance().
TEST(TimerWheelTest, RandomCallbacksMatchModel) {
  SeededRandom rng(2024);
  std::vector<Fired> log;
  TimerWheel wheel(kStart, Duration::micros(100));
  constexpr int kTimers = 200;
  std::vector<std::unique_ptr<Owner>> owners;
  std::map<int, Instant> model;
  std::vector<int> touched;  // timers a callback armed or cancelled in this advance
  Instant now = kStart;
  for (int i = 0; i < kTimers; ++i) owners.push_back(std::make_unique<Owner>(i, &log));
  auto hook = [&](Owner& self, Instant cb_now) {
    ASSERT_EQ(model.count(self.id), 1u);
    EXPECT_EQ(model[self.id], self.timer.deadline());
    model.erase(self.id);
    for (int k = 0; k < 2; ++k) {
      const int other = static_cast<int>(rng.uniform(kTimers));
      touched.push_back(other);
      if (rng.chance(0.3)) {
        wheel.cancel(owners[other]->timer);
        model.erase(other);
      } else {
        const Instant d = cb_now - Duration::millis(1) + random_span(rng, 34);
        wheel.arm(owners[other]->timer, d);
        model[other] = d;
      }
    }
  };
  for (auto& o : owners) o->hook = hook;
  for (int i = 0; i < kTimers; ++i) {
    const Instant d = now + random_span(rng, 34);
    wheel.arm(owners[i]->timer, d);
    model[i] = d;
  }
  for (int step = 0; step < 3000; ++step) {
    // Deadlines due before this advance began must all fire in it.
    std::vector<int> must_fire;
    now += random_span(rng, 30);
    for (const auto& [id, d] : model) {
      if (d <= now) must_fire.push_back(id);
    }
    log.clear();
    touched.clear();
    const size_t fired_count = wheel.advance(now);
    ASSERT_EQ(fired_count, log.size());
    for (int id : must_fire) {
      const bool fired = std::any_of(log.begin(), log.end(), [id](const Fired& f) { return f.id == id; });
      const bool was_touched = std::find(touched.begin(), touched.end(), id) != touched.end();
      EXPECT_TRUE(fired || was_touched) << "timer " << id << " skipped at step " << step;
    }
    for (size_t i = 1; i < log.size(); ++i) ASSERT_LE(log[i - 1].deadline, log[i].deadline);
    std::vector<int> ids;
    for (const Fired& f : log) ids.push_back(f.id);
    std::sort(ids.begin(), ids.end());
    ASSERT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "fired twice in one advance";
    ASSERT_EQ(wheel.armed_count(), model.size());
    for (const auto& [id, d] : model) ASSERT_TRUE(owners[id]->timer.armed());
  }
}

}  // namespace
}  // namespace joyride::base
