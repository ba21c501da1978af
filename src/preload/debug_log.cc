#include "debug_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>

#include "libc_calls.h"

namespace joyride::preload {
namespace {

bool read_log_setting() {
  const char* v = ::getenv("JOYRIDE_LOG");
  return v != nullptr && ::strcmp(v, "debug") == 0;
}

}  // namespace

bool debug_enabled() {
  static const bool enabled = read_log_setting();
  return enabled;
}

void debug_log(const char* format, ...) {
  const int saved_errno = errno;  // logging must never change what the app sees
  char line[512];
  int n = ::snprintf(line, sizeof line, "joyride: ");
  va_list ap;
  va_start(ap, format);
  const int m = ::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, ap);
  va_end(ap);
  n = m < 0 ? n : n + m;
  if (n > static_cast<int>(sizeof line) - 2) n = static_cast<int>(sizeof line) - 2;
  line[n++] = '\n';
  if (libc().write != nullptr) (void)libc().write(2, line, static_cast<size_t>(n));
  errno = saved_errno;
}

}  // namespace joyride::preload
