// RFC 864's character generator pattern, in one place for the two users of it: the
// chargen service (builtin_services.h) and the traffic client (traffic_client.h),
// which sends the same pattern so a capture of either reads the same.
//
// The pattern: 95 lines of 72 printable ASCII characters, line k starting at
// character k mod 95 of " !\"#...~" (space is character 0), each line ending in
// CR LF; it repeats every 95 lines (7030 bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace joyride::service {

class ChargenPattern {
 public:
  static constexpr size_t kLineChars = 72;
  static constexpr size_t kLineBytes = kLineChars + 2;
  static constexpr size_t kPrintable = 95;
  static constexpr size_t kPeriod = kPrintable * kLineBytes;  // 7030 bytes
  // What from() hands out: nine periods (63270 bytes), so a sender moves close to
  // 64 KB per send() call rather than 7 KB.
  static constexpr size_t kWindow = 9 * kPeriod;

  // Allocates the pattern once (kWindow + kPeriod bytes).
  ChargenPattern();

  // kWindow bytes of the stream starting at stream offset `offset`: the bytes a
  // sender that has sent `offset` bytes of the pattern sends next. Stays valid as
  // long as this object.
  std::span<const uint8_t> from(uint64_t offset) const {
    return {bytes_.data() + offset % kPeriod, kWindow};
  }

  // The byte at stream offset `offset`, computed (for checks; from() is the fast way).
  static uint8_t at(uint64_t offset);

 private:
  // The pattern from offset 0, one period longer than the window, so any offset
  // within the first period has a whole window after it.
  std::vector<uint8_t> bytes_;
};

}  // namespace joyride::service
