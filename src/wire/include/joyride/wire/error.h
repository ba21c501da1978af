// The one error enum of the wire layer: why a parser refused some bytes. Callers map
// each value to a named drop counter (every drop has one), so the values say what
// was wrong, not what to do about it.
#pragma once

#include <cstdint>
#include <string_view>

namespace joyride::wire {

enum class WireError : uint8_t {
  kTruncated,        // the buffer ends before the header (or a length it states) does
  kBadVersion,       // IP version field is not the one this parser handles
  kBadHeaderLength,  // IHL / data offset below the minimum or past the buffer
  kBadLength,        // a length field that contradicts itself (e.g. total < header)
  kBadChecksum,      // checksum verification failed
  kBadOption,        // an option with an impossible length or layout
  kUnsupported,      // well-formed but a type/variant we do not handle
  kMalformed,        // any other violation (reserved bits set, ...)
};

std::string_view to_string(WireError e);

}  // namespace joyride::wire
