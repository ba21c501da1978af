// The error every dev/dpdk set-up call returns: which DPDK call failed and the errno
// value it reported. DPDK reports failures as negative return codes or through
// rte_errno; both end up here as a positive errno so message() can name them with
// rte_strerror (which also knows DPDK's own codes, e.g. E_RTE_NO_CONFIG).
//
// Only control-plane calls (EAL, pool and port set-up) return errors; the data path
// (bursts, conversions) counts what it drops instead.
#pragma once

#include <string>

namespace joyride::dev::dpdk {

struct Error {
  const char* op = "";  // the call that failed (a string literal), e.g. "rte_eth_dev_configure"
  int code = 0;         // positive errno / rte_errno value

  // "op: <rte_strerror(code)> (code)"
  std::string message() const;
};

}  // namespace joyride::dev::dpdk
