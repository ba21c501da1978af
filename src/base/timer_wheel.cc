#include "joyride/base/timer_wheel.h"

#include <bit>
#include <cassert>

namespace joyride::base {

namespace {

using Link = detail::TimerLink;

void init_list(Link& head) { head.prev = head.next = &head; }
bool list_empty(const Link& head) { return head.next == &head; }

void push_back(Link& head, Link* n) {
  n->prev = head.prev;
  n->next = &head;
  head.prev->next = n;
  head.prev = n;
}

void unlink_node(Link* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

constexpr uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

}  // namespace

Timer::~Timer() { cancel(); }

void Timer::cancel() {
  if (armed()) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(Instant start, Duration tick) : start_(start), tick_ns_(tick.as_nanos()) {
  assert(tick_ns_ > 0);
  for (auto& level : slots_) {
    for (auto& head : level) init_list(head);
  }
  init_list(overflow_);
  init_list(firing_);
  init_list(deferred_);
}

TimerWheel::~TimerWheel() {
  assert(!advancing_);
  auto release = [](Link& head) {
    for (Link* n = head.next; n != &head;) {
      Link* next = n->next;
      auto* t = static_cast<Timer*>(n);
      t->prev = t->next = nullptr;
      t->state_ = Timer::State::kIdle;
      t->wheel_ = nullptr;
      n = next;
    }
    init_list(head);
  };
  for (auto& level : slots_) {
    for (auto& head : level) release(head);
  }
  release(overflow_);
  release(firing_);
  release(deferred_);
}

uint64_t TimerWheel::tick_of(Instant t) const {
  if (t <= start_) return 0;
  // t > start_, so the difference fits in uint64_t even when the int64_t one would not.
  const uint64_t diff = static_cast<uint64_t>(t.as_nanos()) - static_cast<uint64_t>(start_.as_nanos());
  return diff / static_cast<uint64_t>(tick_ns_);
}

// Stores t by its tick_ (>= elapsed_): the level is the highest 6-bit digit in which
// the tick differs from elapsed_.
void TimerWheel::place(Timer* t) {
  assert(t->tick_ >= elapsed_);
  const uint64_t diff = (t->tick_ ^ elapsed_) | low_mask(kSlotBits);
  const int level = (static_cast<int>(std::bit_width(diff)) - 1) / kSlotBits;
  if (level >= kLevels) {
    t->state_ = Timer::State::kOverflow;
    push_back(overflow_, t);
    if (t->tick_ < overflow_min_tick_) overflow_min_tick_ = t->tick_;
    return;
  }
  const int slot = static_cast<int>((t->tick_ >> (kSlotBits * level)) & low_mask(kSlotBits));
  t->state_ = Timer::State::kSlot;
  t->level_ = static_cast<uint8_t>(level);
  t->slot_ = static_cast<uint8_t>(slot);
  push_back(slots_[level][slot], t);
  occupied_[level] |= uint64_t{1} << slot;
}

// Removes t from whatever list it is on and disarms it.
void TimerWheel::unlink(Timer* t) {
  unlink_node(t);
  if (t->state_ == Timer::State::kSlot) {
    if (list_empty(slots_[t->level_][t->slot_])) occupied_[t->level_] &= ~(uint64_t{1} << t->slot_);
  } else if (t->state_ == Timer::State::kOverflow) {
    if (list_empty(overflow_)) overflow_min_tick_ = UINT64_MAX;
  }
  t->state_ = Timer::State::kIdle;
  --armed_count_;
}

void TimerWheel::arm(Timer& t, Instant deadline) {
  if (t.armed()) t.wheel_->cancel(t);
  t.wheel_ = this;
  t.deadline_ = deadline;
  ++armed_count_;
  if (advancing_ && deadline <= advance_now_) {
    // Already due while callbacks are running: wait for the next advance() so a
    // timer re-arming itself for `now` cannot keep this one going forever.
    t.state_ = Timer::State::kDeferred;
    push_back(deferred_, &t);
    return;
  }
  const uint64_t tick = tick_of(deadline);
  t.tick_ = tick < elapsed_ ? elapsed_ : tick;
  place(&t);
  if (cache_valid_ && deadline < cache_) cache_ = deadline;
}

void TimerWheel::cancel(Timer& t) {
  if (!t.armed() || t.wheel_ != this) return;
  if (cache_valid_ && t.deadline_ == cache_) cache_valid_ = false;
  unlink(&t);
}

bool TimerWheel::earliest_slot(int* level, int* slot, uint64_t* first_tick) const {
  for (int l = 0; l < kLevels; ++l) {
    if (occupied_[l] == 0) continue;
    const int s = std::countr_zero(occupied_[l]);
    const int shift = kSlotBits * l;
    *level = l;
    *slot = s;
    *first_tick = (elapsed_ & ~low_mask(shift + kSlotBits)) | (static_cast<uint64_t>(s) << shift);
    return true;
  }
  if (list_empty(overflow_)) return false;
  *level = kLevels;
  *slot = 0;
  *first_tick = overflow_min_tick_ & ~low_mask(kTotalBits);
  return true;
}

// Unhooks a whole list and returns it as a null-terminated chain through `next`.
TimerWheel::Link* TimerWheel::detach(Link& head) {
  if (list_empty(head)) return nullptr;
  Link* first = head.next;
  head.prev->next = nullptr;
  init_list(head);
  return first;
}

// Places again every timer of a list, relative to the current elapsed_ (cascading).
void TimerWheel::replace_all(Link& head) {
  for (Link* n = detach(head); n != nullptr;) {
    Link* next = n->next;
    place(static_cast<Timer*>(n));
    n = next;
  }
}

// Stable merge sort of a null-terminated chain by deadline.
TimerWheel::Link* TimerWheel::merge_sorted(Link* a, Link* b) {
  Link head;
  Link* tail = &head;
  while (a != nullptr && b != nullptr) {
    // `<=` keeps equal deadlines in their original order.
    if (static_cast<Timer*>(a)->deadline() <= static_cast<Timer*>(b)->deadline()) {
      tail->next = a;
      a = a->next;
    } else {
      tail->next = b;
      b = b->next;
    }
    tail = tail->next;
  }
  tail->next = a != nullptr ? a : b;
  return head.next;
}

TimerWheel::Link* TimerWheel::sort_chain(Link* chain) {
  if (chain == nullptr || chain->next == nullptr) return chain;
  Link* slow = chain;
  Link* fast = chain->next;
  while (fast != nullptr && fast->next != nullptr) {
    slow = slow->next;
    fast = fast->next->next;
  }
  Link* second = slow->next;
  slow->next = nullptr;
  return merge_sorted(sort_chain(chain), sort_chain(second));
}

// Sorts a chain of due timers, queues it on the firing list and runs the callbacks.
size_t TimerWheel::fire_chain(Link* chain, Instant now) {
  for (Link* n = sort_chain(chain); n != nullptr;) {
    Link* next = n->next;
    static_cast<Timer*>(n)->state_ = Timer::State::kFiring;
    push_back(firing_, n);
    n = next;
  }
  size_t fired = 0;
  while (!list_empty(firing_)) {
    auto* t = static_cast<Timer*>(firing_.next);
    unlink(t);  // disarmed before the callback, which may arm or destroy it
    ++fired;
    t->cb_(t->context_, now);
  }
  return fired;
}

size_t TimerWheel::advance(Instant now) {
  assert(!advancing_ && "advance() called from a timer callback");
  advancing_ = true;
  advance_now_ = now;
  const uint64_t now_tick = tick_of(now);
  const uint64_t target = now_tick > elapsed_ ? now_tick : elapsed_;
  size_t fired = 0;
  bool changed = false;

  // Every slot that starts before the target tick: fire it (level 0) or cascade it.
  int level = 0;
  int slot = 0;
  uint64_t first_tick = 0;
  while (earliest_slot(&level, &slot, &first_tick)) {
    if (first_tick > target || (level == 0 && first_tick == target)) break;
    changed = true;
    elapsed_ = first_tick;
    if (level == kLevels) {
      overflow_min_tick_ = UINT64_MAX;
      replace_all(overflow_);
    } else {
      occupied_[level] &= ~(uint64_t{1} << slot);
      if (level == 0) {
        fired += fire_chain(detach(slots_[0][slot]), now);
      } else {
        replace_all(slots_[level][slot]);
      }
    }
  }
  elapsed_ = target;

  // The target tick itself: only the timers whose exact deadline has come.
  const int current = static_cast<int>(target & low_mask(kSlotBits));
  Link& head = slots_[0][current];
  Link due;
  Link* due_tail = &due;
  due.next = nullptr;
  for (Link* n = head.next; n != &head;) {
    Link* next = n->next;
    if (static_cast<Timer*>(n)->deadline() <= now) {
      unlink_node(n);
      due_tail->next = n;
      due_tail = n;
      n->next = nullptr;
    }
    n = next;
  }
  if (list_empty(head)) occupied_[0] &= ~(uint64_t{1} << current);
  if (due.next != nullptr) fired += fire_chain(due.next, now);

  // Timers armed by callbacks with a deadline <= now wait for the next advance().
  if (!list_empty(deferred_)) {
    changed = true;
    for (Link* n = detach(deferred_); n != nullptr;) {
      Link* next = n->next;
      auto* t = static_cast<Timer*>(n);
      t->tick_ = elapsed_;
      place(t);
      n = next;
    }
  }
  advancing_ = false;
  if (changed || fired > 0) cache_valid_ = false;
  return fired;
}

Instant TimerWheel::compute_next_deadline() const {
  Instant best = Instant::never();
  auto scan = [&best](const Link& head) {
    for (const Link* n = head.next; n != &head; n = n->next) {
      best = earliest(best, static_cast<const Timer*>(n)->deadline());
    }
  };
  int level = 0;
  int slot = 0;
  uint64_t first_tick = 0;
  if (earliest_slot(&level, &slot, &first_tick)) scan(level == kLevels ? overflow_ : slots_[level][slot]);
  if (advancing_) {
    if (!list_empty(firing_)) best = earliest(best, static_cast<const Timer*>(firing_.next)->deadline());
    scan(deferred_);
  }
  return best;
}

Instant TimerWheel::next_deadline() const {
  if (advancing_) return compute_next_deadline();
  if (!cache_valid_) {
    cache_ = compute_next_deadline();
    cache_valid_ = true;
  }
  return cache_;
}

}  // namespace joyride::base
