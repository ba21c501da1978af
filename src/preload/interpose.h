// What every interposed entry point shares: the export attribute (the library is
// built with hidden visibility; only these names leave it) and the one place errno
// is set. Internals return a value >= 0 or a negated errno and never touch errno.
#pragma once

#include <errno.h>

#define JOYRIDE_EXPORT extern "C" __attribute__((visibility("default")))

namespace joyride::preload {

// The interposed-call boundary: a negated errno becomes -1 with errno set.
template <typename T>
inline T finish_call(T result) {
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

}  // namespace joyride::preload
