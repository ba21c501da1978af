#include "joyride/wire/error.h"

namespace joyride::wire {

std::string_view to_string(WireError e) {
  switch (e) {
    case WireError::kTruncated: return "truncated";
    case WireError::kBadVersion: return "bad_version";
    case WireError::kBadHeaderLength: return "bad_header_length";
    case WireError::kBadLength: return "bad_length";
    case WireError::kBadChecksum: return "bad_checksum";
    case WireError::kBadOption: return "bad_option";
    case WireError::kUnsupported: return "unsupported";
    case WireError::kMalformed: return "malformed";
  }
  return "unknown";
}

}  // namespace joyride::wire
