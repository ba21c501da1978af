#include "joyride/service/chargen_pattern.h"

namespace joyride::service {

uint8_t ChargenPattern::at(uint64_t offset) {
  const uint64_t line = (offset / kLineBytes) % kPrintable;
  const uint64_t col = offset % kLineBytes;
  if (col < kLineChars) return static_cast<uint8_t>(' ' + (line + col) % kPrintable);
  return col == kLineChars ? '\r' : '\n';
}

ChargenPattern::ChargenPattern() : bytes_(kWindow + kPeriod) {
  for (size_t p = 0; p < bytes_.size(); ++p) bytes_[p] = at(p);
}

}  // namespace joyride::service
