// Starting DPDK's Environment Abstraction Layer (EAL) for a Joyride process.
//
// rte_eal_init takes a command line; eal_arguments() builds it from an EalConfig with
// the settings every Joyride process needs on shared machines (../../shared/ENVIRONMENT.md):
//   --in-memory        no hugepage or config files left behind, no clash with other
//                      DPDK processes (secondary processes are not supported); with
//                      --no-huge the EAL refuses it (legacy memory mode) and
//                      --no-shconf, its no-shared-files half, is given instead.
//                      Either one also turns off the EAL's multi-process channel,
//                      which the memif PMD needs to probe: `multi_process` keeps it
//                      (and the runtime files it lives in; hugepage files are still
//                      unlinked with --huge-unlink);
//   --no-pci           unless PCI devices are named: probing PCI would take over the
//                      machine's own NIC (eth0 is a virtio PCI device);
//   --file-prefix      unique per process by default (joyride-<pid>), for the runtime
//                      directory DPDK still creates;
//   -l <lcores>        only the cores we were given (EAL's default is every core);
//   --no-huge -m <mb>  by default, so no hugepages need reserving.
// eal_arguments() is a pure function so the command line can be tested without DPDK.
//
// The EAL can start once per process and cannot restart after rte_eal_cleanup: Eal
// owns that one start-up, and its destructor is the process's DPDK shutdown. A second
// Eal::init fails with EALREADY (DPDK's own check: no global here).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "joyride/base/result.h"
#include "joyride/dev/dpdk/error.h"

namespace joyride::dev::dpdk {

struct EalConfig {
  std::vector<std::string> vdevs;        // --vdev each, e.g. "net_memif0,role=server,socket=/tmp/x.sock"
  std::vector<unsigned> lcores;          // -l; empty means core 0 only
  bool no_huge = true;                   // --no-huge: anonymous memory instead of hugepages
  unsigned memory_mb = 512;              // -m; 0 leaves it to DPDK (needs hugepages)
  std::string file_prefix;               // empty: "joyride-<pid>"
  std::vector<std::string> pci_allow;    // -a each; empty means --no-pci
  std::vector<std::string> extra_args;   // appended last, verbatim
  bool multi_process = false;            // keep the EAL's IPC channel: memif needs it
  bool ignore_sigpipe = true;            // memif/vhost teardown writes to closed sockets
};

// The full argv for rte_eal_init, argv[0] ("joyride") included. `pid` names the
// default file prefix.
std::vector<std::string> eal_arguments(const EalConfig& config, int pid);

class Eal {
 public:
  // Starts the EAL with eal_arguments(config, getpid()). Errors carry rte_errno
  // (EALREADY on a second start in the same process).
  static base::Result<std::unique_ptr<Eal>, Error> init(const EalConfig& config);
  // rte_eal_cleanup: every port must be closed and every mempool freed before. The
  // runtime directory of a default (per-process) prefix is removed too.
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;

  // The command line rte_eal_init was given.
  const std::vector<std::string>& arguments() const { return args_; }

 private:
  explicit Eal(std::vector<std::string> args) : args_(std::move(args)) {}
  std::vector<std::string> args_;
  std::vector<std::string> argv_storage_;  // the strings rte_eal_init was handed
  bool running_ = false;                   // rte_eal_init succeeded: cleanup on destruction
  std::string runtime_dir_;                // ours alone: removed after cleanup
};

}  // namespace joyride::dev::dpdk
