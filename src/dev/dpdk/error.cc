#include "joyride/dev/dpdk/error.h"

#include <rte_errno.h>

namespace joyride::dev::dpdk {

std::string Error::message() const {
  return std::string(op) + ": " + rte_strerror(code) + " (" + std::to_string(code) + ")";
}

}  // namespace joyride::dev::dpdk
