// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018), parsed into one struct and emitted
// in Linux's layout.
//
// Parsing (RFC 9293 §3.1 "Options"): kind 0 (EOL) ends the list, kind 1 (NOP) is one
// byte of padding, every other option is kind, length (counting both), data. Rules:
//   - length < 2, or an option running past the end of the header -> kBadOption;
//   - a known option with the wrong length -> kBadOption (Linux ignores such an option
//     instead; refusing the segment is the stricter reading of RFC 9293 §3.2 and
//     cannot be confused with an absent option);
//   - an unknown option is skipped by its length (RFC 1122 §4.2.2.5 "MUST be prepared
//     to handle an illegal option length" / ignore unknown options);
//   - window scale above 14 is used as 14 (RFC 7323 §2.3: "the receiver MUST use 14
//     instead of the value received", and Linux does);
//   - a repeated option: the last one wins.
//
// Emission lays options out as Linux's tcp_options_write() does, so captures look
// familiar and the 4-byte alignment of timestamps is kept:
//   MSS(4)
//   SACK_PERM(2) TS(10)        when both      | NOP NOP TS(10)  | NOP NOP SACK_PERM(2)
//   NOP WS(3)
//   NOP NOP SACK(2 + 8n)       with as many blocks as fit in 40 bytes
// e.g. a SYN with everything: MSS SACK_PERM TS NOP WS = 20 bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "joyride/base/result.h"
#include "joyride/base/seq.h"
#include "joyride/wire/error.h"

namespace joyride::wire {

inline constexpr size_t kTcpMaxOptionsLen = 40;
inline constexpr uint8_t kTcpMaxWindowScale = 14;

// Option kinds (IANA).
struct TcpOptionKind {
  static constexpr uint8_t kEnd = 0;
  static constexpr uint8_t kNop = 1;
  static constexpr uint8_t kMss = 2;
  static constexpr uint8_t kWindowScale = 3;
  static constexpr uint8_t kSackPermitted = 4;
  static constexpr uint8_t kSack = 5;
  static constexpr uint8_t kTimestamps = 8;
};

// One SACK block: the bytes [left, right) have been received (RFC 2018 §3).
struct SackBlock {
  base::SeqNum left{};
  base::SeqNum right{};
  bool operator==(const SackBlock&) const = default;
};

struct TcpOptions {
  static constexpr size_t kMaxSackBlocks = 4;

  std::optional<uint16_t> mss{};
  std::optional<uint8_t> window_scale{};
  bool sack_permitted = false;
  std::array<SackBlock, kMaxSackBlocks> sack_blocks{};
  uint8_t sack_count = 0;
  std::optional<std::pair<uint32_t, uint32_t>> timestamps{};  // tsval, tsecr

  // bytes is the options area of a header (header_len - 20 bytes, at most 40).
  static base::Result<TcpOptions, WireError> parse(std::span<const uint8_t> bytes);

  // How many SACK blocks emit() writes: sack_count, less those that do not fit in
  // 40 bytes after the other options (RFC 2018 §3: 3 with timestamps, else 4).
  size_t sack_blocks_to_emit() const;
  // Bytes emit() writes: a multiple of 4, at most 40.
  size_t emitted_len() const;
  // Writes emitted_len() bytes (out must hold them) and returns that length.
  size_t emit(std::span<uint8_t> out) const;

  bool has_sack() const { return sack_count != 0; }
  std::span<const SackBlock> sacks() const { return {sack_blocks.data(), sack_count}; }
  // Appends a block if there is room; returns false otherwise.
  bool add_sack(SackBlock b);

  // Compares only the first sack_count SACK blocks.
  bool operator==(const TcpOptions& o) const;
};

}  // namespace joyride::wire
