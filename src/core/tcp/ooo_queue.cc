#include "joyride/core/tcp/ooo_queue.h"

#include <algorithm>
#include <cassert>

namespace joyride::core::tcp {

using base::SeqNum;
using wire::SackBlock;

namespace {

// Collects the first contiguous run of already-held bytes met while walking a new
// segment from left to right (the D-SACK block, RFC 2883 §4: "the first SACK block
// ... MUST specify the contiguous block of data containing the segment which
// triggered the duplicate").
class DuplicateRun {
 public:
  void add(SeqNum left, SeqNum right) {
    if (closed_) return;
    if (!run_) {
      run_ = SackBlock{left, right};
    } else if (run_->right == left) {
      run_->right = right;
    } else {
      closed_ = true;  // a gap of new bytes ends the first run
    }
  }
  const std::optional<SackBlock>& run() const { return run_; }

 private:
  std::optional<SackBlock> run_;
  bool closed_ = false;
};

}  // namespace

OutOfOrderQueue::OutOfOrderQueue(size_t max_bytes, size_t max_segments)
    : max_bytes_(max_bytes), max_segments_(max_segments) {}

size_t OutOfOrderQueue::first_after(SeqNum s) const {
  const auto it = std::upper_bound(entries_.begin(), entries_.end(), s,
                                   [](SeqNum v, const Entry& e) { return v < e.seq; });
  return static_cast<size_t>(it - entries_.begin());
}

OooInsertResult OutOfOrderQueue::insert(SeqNum seq, buf::Packet payload) {
  OooInsertResult result;
  const size_t len = payload.len();
  if (len == 0) return result;
  assert(len < (size_t{1} << 31) && "segment longer than half the sequence space");
  const SeqNum end = seq + static_cast<uint32_t>(len);

  // Plan first, change nothing until the limits are checked: [left, right) is the part
  // to store, entries [first, last) lie wholly inside it and are replaced.
  DuplicateRun dup;
  SeqNum left = seq;
  SeqNum right = end;
  const size_t first = first_after(seq);
  size_t touched = first;  // an entry holding duplicate bytes, for SACK recency
  if (first > 0 && entries_[first - 1].end() > seq) {
    // The entry at or before seq overlaps our front: keep its bytes.
    touched = first - 1;
    left = seq_min(entries_[first - 1].end(), end);
    dup.add(seq, left);
  }
  size_t last = first;
  size_t covered_bytes = 0;
  for (; left < right && last < entries_.size() && entries_[last].seq < end; ++last) {
    const Entry& q = entries_[last];
    if (q.end() > end) {  // runs past our end: keep its bytes, cut our back
      dup.add(q.seq, end);
      right = q.seq;
      touched = last;
      break;
    }
    dup.add(q.seq, q.end());
    covered_bytes += q.len;
  }
  result.duplicate = dup.run();
  const size_t stored = left < right ? static_cast<size_t>(right - left) : 0;
  const size_t new_bytes = stored - covered_bytes;

  if (new_bytes == 0) {
    // Every byte was held already (one contiguous held range): nothing changes but
    // the range becomes the most recent for SACK, as the segment "triggered this ACK".
    assert(result.duplicate.has_value());
    entries_[std::min(touched, entries_.size() - 1)].stamp = ++clock_;
    return result;
  }
  const size_t replaced = last - first;
  if (entries_.size() - replaced + 1 > max_segments_ || bytes_ - covered_bytes + stored > max_bytes_) {
    result.dropped = true;
    return result;
  }

  payload.trim_front(static_cast<uint32_t>(left - seq));
  payload.trim_back(static_cast<uint32_t>(end - right));
  Entry entry{left, static_cast<uint32_t>(stored), ++clock_, std::move(payload)};
  if (replaced == 0) {
    entries_.insert(entries_.begin() + static_cast<ptrdiff_t>(first), std::move(entry));
  } else {
    entries_[first] = std::move(entry);  // frees the first replaced packet
    entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(first + 1),
                   entries_.begin() + static_cast<ptrdiff_t>(last));
  }
  bytes_ += new_bytes;
  result.new_bytes = static_cast<uint32_t>(new_bytes);
  return result;
}

size_t OutOfOrderQueue::sack_blocks(std::span<SackBlock> out) const {
  // Ranges are runs of adjacent entries; a range's recency is its newest entry's
  // stamp. Stamps are unique, so k passes each picking the newest range older than
  // the last pick give the k most recent without sorting (k is at most 4 in TCP).
  size_t count = 0;
  uint64_t older_than = UINT64_MAX;
  while (count < out.size()) {
    std::optional<SackBlock> best;
    uint64_t best_stamp = 0;
    for (size_t i = 0; i < entries_.size();) {
      const SeqNum range_left = entries_[i].seq;
      uint64_t stamp = entries_[i].stamp;
      size_t j = i + 1;
      for (; j < entries_.size() && entries_[j].seq == entries_[j - 1].end(); ++j) {
        stamp = std::max(stamp, entries_[j].stamp);
      }
      if (stamp < older_than && stamp > best_stamp) {
        best = SackBlock{range_left, entries_[j - 1].end()};
        best_stamp = stamp;
      }
      i = j;
    }
    if (!best) break;
    out[count++] = *best;
    older_than = best_stamp;
  }
  return count;
}

std::optional<SeqNum> OutOfOrderQueue::highest_end() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().end();
}

void OutOfOrderQueue::clear() {
  entries_.clear();
  bytes_ = 0;
}

void OutOfOrderQueue::erase_front(size_t n) {
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(n));
}

}  // namespace joyride::core::tcp
