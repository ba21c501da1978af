// Hierarchical timer wheel driven by injected time. Nothing here reads a clock: the
// host calls advance(now) and asks next_deadline() when to call again.
//
// Ticks. Time is cut into ticks of `tick` counted from `start`; tick k covers
// [start + k*tick, start + (k+1)*tick). A timer lives in the tick that contains its
// deadline (a deadline already in the past is put in the current tick). The tick only
// decides where a timer is stored: firing compares exact instants, so a timer fires in
// the first advance(now) with now >= deadline — never earlier, and never later either.
//
// Levels. `elapsed` is the tick of the latest advance(). There are kLevels levels of
// kSlots = 64 slots; level L, slot s holds timers whose tick differs from `elapsed`
// in 6-bit digit L (bits [6L, 6L+6)) and in no higher digit, and has digit L equal to s.
// (Level 0 also holds timers of tick == elapsed.) Hence:
//   - every occupied slot of a level is at or after elapsed's digit of that level, so
//     the lowest set bit of the level's 64-bit occupancy bitmap is its earliest slot;
//   - every timer on level L is later than every timer on any level below L.
// So the earliest timer is in the first occupied slot of the lowest non-empty level.
//
//   level 3 | . . . . . . . x . . . . |  slot = 64^3 ticks   (x = occupied)
//   level 2 | . . . . x . . . . . . x |  slot = 64^2 ticks
//   level 1 | . . . . . . . . . . . . |  slot = 64 ticks
//   level 0 | . . x x . . . . . . . . |  slot = 1 tick
//
// Overflow. Timers that differ from `elapsed` above bit 6*kLevels (2^36 ticks, about
// 795 days at 1 ms) wait in an overflow list, with a lower bound on their earliest
// tick. When elapsed reaches that tick's 2^36-tick block the list is re-placed.
//
// advance(now), T = tick of now: while the earliest occupied slot starts at or before
// T, move elapsed to its first tick, and either fire it (a level-0 slot before T: all
// of its timers are due) or cascade it (re-place its timers, which lands them on lower
// levels). Then elapsed = T and the timers of tick T whose deadline <= now fire. Empty
// slots are never visited: a jump of an hour costs a few bitmap scans plus the work
// for timers actually passed.
//
// Order. Ticks fire in order; within a tick the due timers are merge-sorted (stable)
// by deadline. So firing is in deadline order; equal deadlines fire in a fixed order
// (the order in which they reached the slot), the same on every run.
//
// Callbacks. Before any callback runs, a due batch moves to a firing list; each timer
// is unlinked (disarmed) just before its callback is called. Callbacks may arm,
// re-arm, cancel or destroy any timer, themselves included; cancelling a timer still
// waiting in the firing list keeps it from firing. A timer armed from inside a
// callback never fires in the same advance(): a deadline <= now fires at the next
// advance() (so a timer that re-arms itself for `now` cannot loop forever).
// advance() must not be called from a callback.
//
// Complexity (n = armed timers):
//   arm, cancel                O(1)
//   advance                    O(levels * slots visited + cascaded + fired * log b),
//                              b = timers due in one tick; a timer is cascaded at most
//                              kLevels - 1 times while it stays in the wheel
//   next_deadline              cached; after a change, O(kLevels) bitmap scan plus a
//                              walk of the one earliest slot (exact minimum)
//
// Not thread-safe: one wheel per shard, driven by that shard's loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "joyride/base/time.h"

namespace joyride::base {

class TimerWheel;

namespace detail {
// Doubly-linked circular list node. Every list in the wheel has a sentinel, so a
// timer unlinks itself in O(1) without knowing which list it is on.
struct TimerLink {
  TimerLink* prev = nullptr;
  TimerLink* next = nullptr;
};
}  // namespace detail

// Intrusive node embedded in its owner (a TCP connection, an ARP entry, ...). Arming
// never allocates. Destroying an armed timer cancels it.
class Timer : private detail::TimerLink {
 public:
  using Callback = void (*)(void* context, Instant now);

  Timer(Callback cb, void* context) : cb_(cb), context_(context) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return state_ != State::kIdle; }
  // Valid when armed; afterwards, the deadline it was last armed with.
  Instant deadline() const { return deadline_; }
  // Cancels on whichever wheel it is armed on; no-op when not armed.
  void cancel();

 private:
  friend class TimerWheel;
  enum class State : uint8_t { kIdle, kSlot, kOverflow, kFiring, kDeferred };

  Callback cb_;
  void* context_;
  TimerWheel* wheel_ = nullptr;
  Instant deadline_ = Instant::never();
  uint64_t tick_ = 0;  // tick the timer is stored under (>= the wheel's elapsed tick)
  State state_ = State::kIdle;
  uint8_t level_ = 0;
  uint8_t slot_ = 0;
};

class TimerWheel {
 public:
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr int kLevels = 6;

  // `tick` > 0. Times before `start` count as tick 0.
  explicit TimerWheel(Instant start, Duration tick = Duration::millis(1));
  // Disarms every timer still armed; their callbacks never run.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // O(1). Re-arming an armed timer (on this or another wheel) moves it. A deadline
  // <= the latest advance()'s now fires at the next advance().
  void arm(Timer& t, Instant deadline);
  // O(1); no-op when the timer is not armed on this wheel.
  void cancel(Timer& t);
  // Fires, in deadline order, every timer with deadline <= now; returns how many fired.
  // `now` should not go backwards; if it does, only deadlines <= now fire.
  size_t advance(Instant now);
  // Earliest armed deadline (exact), or Instant::never() when nothing is armed.
  Instant next_deadline() const;
  size_t armed_count() const { return armed_count_; }

  Instant start() const { return start_; }
  Duration tick() const { return Duration::nanos(tick_ns_); }

 private:
  using Link = detail::TimerLink;
  static constexpr int kTotalBits = kSlotBits * kLevels;

  uint64_t tick_of(Instant t) const;
  void place(Timer* t);
  void unlink(Timer* t);
  // Finds the earliest occupied slot; false when the wheel (overflow included) is empty.
  bool earliest_slot(int* level, int* slot, uint64_t* first_tick) const;
  Link* detach(Link& head);
  void replace_all(Link& head);
  size_t fire_chain(Link* chain, Instant now);
  static Link* merge_sorted(Link* a, Link* b);
  static Link* sort_chain(Link* chain);
  Instant compute_next_deadline() const;

  Instant start_;
  int64_t tick_ns_;
  uint64_t elapsed_ = 0;
  size_t armed_count_ = 0;
  uint64_t occupied_[kLevels] = {};
  Link slots_[kLevels][kSlots];
  Link overflow_;
  uint64_t overflow_min_tick_ = UINT64_MAX;  // lower bound on overflow timers' ticks
  Link firing_;
  Link deferred_;
  bool advancing_ = false;
  Instant advance_now_;
  mutable bool cache_valid_ = true;
  mutable Instant cache_ = Instant::never();
};

}  // namespace joyride::base
