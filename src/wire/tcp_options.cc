#include "joyride/wire/tcp_options.h"

#include <algorithm>
#include <cassert>

#include "joyride/base/bytes.h"

namespace joyride::wire {
namespace {

// Lengths (kind and length bytes included) of the options we understand.
constexpr size_t kMssLen = 4;
constexpr size_t kWindowScaleLen = 3;
constexpr size_t kSackPermittedLen = 2;
constexpr size_t kTimestampsLen = 10;
constexpr size_t kSackHeaderLen = 2;
constexpr size_t kSackBlockLen = 8;

// Emitted sizes, padding included (see the layout in the header).
constexpr size_t kMssAligned = 4;
constexpr size_t kTimestampsAligned = 12;    // NOP NOP TS or SACK_PERM TS
constexpr size_t kSackPermAligned = 4;       // NOP NOP SACK_PERM
constexpr size_t kWindowScaleAligned = 4;    // NOP WS
constexpr size_t kSackAlignedHeader = 4;     // NOP NOP kind len

// Applies one option with a valid framing (kind, len, data within bounds).
// Returns false when a known option has the wrong length.
bool apply_option(TcpOptions& o, uint8_t kind, std::span<const uint8_t> opt) {
  const uint8_t* p = opt.data();
  switch (kind) {
    case TcpOptionKind::kMss:
      if (opt.size() != kMssLen) return false;
      o.mss = base::load_be<uint16_t>(p, 2);
      return true;
    case TcpOptionKind::kWindowScale:
      if (opt.size() != kWindowScaleLen) return false;
      o.window_scale = std::min(p[2], kTcpMaxWindowScale);
      return true;
    case TcpOptionKind::kSackPermitted:
      if (opt.size() != kSackPermittedLen) return false;
      o.sack_permitted = true;
      return true;
    case TcpOptionKind::kTimestamps:
      if (opt.size() != kTimestampsLen) return false;
      o.timestamps = std::pair{base::load_be<uint32_t>(p, 2), base::load_be<uint32_t>(p, 6)};
      return true;
    case TcpOptionKind::kSack: {
      // RFC 2018 §3: "Length: Variable", 2 + 8n. A 40-byte options area fits at most 4.
      const size_t body = opt.size() - kSackHeaderLen;
      if (body == 0 || body % kSackBlockLen != 0) return false;
      const size_t n = body / kSackBlockLen;
      if (n > TcpOptions::kMaxSackBlocks) return false;
      o.sack_count = static_cast<uint8_t>(n);
      for (size_t i = 0; i < n; ++i) {
        const size_t at = kSackHeaderLen + i * kSackBlockLen;
        o.sack_blocks[i] = SackBlock{base::SeqNum(base::load_be<uint32_t>(p, at)),
                                     base::SeqNum(base::load_be<uint32_t>(p, at + 4))};
      }
      return true;
    }
    default:
      return true;  // unknown: skipped by its length
  }
}

}  // namespace

base::Result<TcpOptions, WireError> TcpOptions::parse(std::span<const uint8_t> bytes) {
  TcpOptions o;
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t kind = bytes[i];
    if (kind == TcpOptionKind::kEnd) break;
    if (kind == TcpOptionKind::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= bytes.size()) return base::Err{WireError::kBadOption};
    const size_t len = bytes[i + 1];
    if (len < 2 || len > bytes.size() - i) return base::Err{WireError::kBadOption};
    if (!apply_option(o, kind, bytes.subspan(i, len))) return base::Err{WireError::kBadOption};
    i += len;
  }
  return o;
}

size_t TcpOptions::sack_blocks_to_emit() const {
  if (sack_count == 0) return 0;
  size_t used = 0;
  if (mss) used += kMssAligned;
  if (timestamps) {
    used += kTimestampsAligned;
  } else if (sack_permitted) {
    used += kSackPermAligned;
  }
  if (window_scale) used += kWindowScaleAligned;
  if (used + kSackAlignedHeader + kSackBlockLen > kTcpMaxOptionsLen) return 0;
  const size_t room = (kTcpMaxOptionsLen - used - kSackAlignedHeader) / kSackBlockLen;
  return std::min<size_t>(sack_count, room);
}

size_t TcpOptions::emitted_len() const {
  size_t len = 0;
  if (mss) len += kMssAligned;
  if (timestamps) {
    len += kTimestampsAligned;
  } else if (sack_permitted) {
    len += kSackPermAligned;
  }
  if (window_scale) len += kWindowScaleAligned;
  const size_t sacks = sack_blocks_to_emit();
  if (sacks != 0) len += kSackAlignedHeader + sacks * kSackBlockLen;
  return len;
}

size_t TcpOptions::emit(std::span<uint8_t> out) const {
  [[maybe_unused]] const size_t total = emitted_len();
  assert(out.size() >= total);
  uint8_t* p = out.data();
  size_t at = 0;
  if (mss) {
    p[at] = TcpOptionKind::kMss;
    p[at + 1] = kMssLen;
    base::store_be<uint16_t>(p, at + 2, *mss);
    at += kMssAligned;
  }
  if (timestamps) {
    // Linux folds SACK_PERM into the two bytes of padding in front of the timestamps.
    if (sack_permitted) {
      p[at] = TcpOptionKind::kSackPermitted;
      p[at + 1] = kSackPermittedLen;
    } else {
      p[at] = TcpOptionKind::kNop;
      p[at + 1] = TcpOptionKind::kNop;
    }
    p[at + 2] = TcpOptionKind::kTimestamps;
    p[at + 3] = kTimestampsLen;
    base::store_be<uint32_t>(p, at + 4, timestamps->first);
    base::store_be<uint32_t>(p, at + 8, timestamps->second);
    at += kTimestampsAligned;
  } else if (sack_permitted) {
    p[at] = TcpOptionKind::kNop;
    p[at + 1] = TcpOptionKind::kNop;
    p[at + 2] = TcpOptionKind::kSackPermitted;
    p[at + 3] = kSackPermittedLen;
    at += kSackPermAligned;
  }
  if (window_scale) {
    p[at] = TcpOptionKind::kNop;
    p[at + 1] = TcpOptionKind::kWindowScale;
    p[at + 2] = kWindowScaleLen;
    p[at + 3] = *window_scale;
    at += kWindowScaleAligned;
  }
  const size_t sacks = sack_blocks_to_emit();
  if (sacks != 0) {
    p[at] = TcpOptionKind::kNop;
    p[at + 1] = TcpOptionKind::kNop;
    p[at + 2] = TcpOptionKind::kSack;
    p[at + 3] = static_cast<uint8_t>(kSackHeaderLen + sacks * kSackBlockLen);
    at += kSackAlignedHeader;
    for (size_t i = 0; i < sacks; ++i) {
      base::store_be<uint32_t>(p, at, sack_blocks[i].left.value());
      base::store_be<uint32_t>(p, at + 4, sack_blocks[i].right.value());
      at += kSackBlockLen;
    }
  }
  assert(at == total);
  return at;
}

bool TcpOptions::add_sack(SackBlock b) {
  if (sack_count >= kMaxSackBlocks) return false;
  sack_blocks[sack_count++] = b;
  return true;
}

bool TcpOptions::operator==(const TcpOptions& o) const {
  return mss == o.mss && window_scale == o.window_scale && sack_permitted == o.sack_permitted &&
         timestamps == o.timestamps && std::ranges::equal(sacks(), o.sacks());
}

}  // namespace joyride::wire
