// JOYRIDE_LOG=debug: one line per decision ("joyride: ..."), on stderr, written with
// the real write(2) so logging never goes through stdio's locks or our own wrappers.
// Silent otherwise; never on the data path.
#pragma once

namespace joyride::preload {

bool debug_enabled();
void debug_log(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace joyride::preload

#define JOYRIDE_DEBUG(...)                                          \
  do {                                                              \
    if (::joyride::preload::debug_enabled()) ::joyride::preload::debug_log(__VA_ARGS__); \
  } while (0)
