#include "joyride/dev/dpdk/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <system_error>

namespace joyride::dev::dpdk {

namespace {

std::string default_prefix(int pid) { return "joyride-" + std::to_string(pid); }

}  // namespace

std::vector<std::string> eal_arguments(const EalConfig& config, int pid) {
  std::vector<std::string> args{"joyride"};
  std::string cores;
  for (unsigned c : config.lcores) cores += (cores.empty() ? "" : ",") + std::to_string(c);
  args.insert(args.end(), {"-l", cores.empty() ? "0" : cores});
  if (config.no_huge) args.emplace_back("--no-huge");
  if (config.memory_mb != 0) args.insert(args.end(), {"-m", std::to_string(config.memory_mb)});
  // No files shared with other processes. --in-memory says so for hugepages; without
  // them the EAL runs in legacy memory mode, which refuses --in-memory, and
  // --no-shconf (the other half of --in-memory) is what is left to say. Keeping the
  // multi-process channel needs the shared runtime files: then only hugepage files
  // are unlinked.
  if (config.multi_process) {
    if (!config.no_huge) args.emplace_back("--huge-unlink");
  } else {
    args.emplace_back(config.no_huge ? "--no-shconf" : "--in-memory");
  }
  args.insert(args.end(),
              {"--file-prefix", config.file_prefix.empty() ? default_prefix(pid) : config.file_prefix});
  if (config.pci_allow.empty()) {
    args.emplace_back("--no-pci");
  } else {
    for (const auto& a : config.pci_allow) args.insert(args.end(), {"-a", a});
  }
  for (const auto& v : config.vdevs) args.insert(args.end(), {"--vdev", v});
  args.insert(args.end(), config.extra_args.begin(), config.extra_args.end());
  return args;
}

base::Result<std::unique_ptr<Eal>, Error> Eal::init(const EalConfig& config) {
  std::unique_ptr<Eal> eal(new Eal(eal_arguments(config, static_cast<int>(getpid()))));
  // rte_eal_init may permute argv (getopt) and may keep pointers into the strings: the
  // Eal keeps its own copy alive for the life of the EAL.
  eal->argv_storage_ = eal->args_;
  std::vector<char*> argv;
  argv.reserve(eal->argv_storage_.size() + 1);
  for (auto& a : eal->argv_storage_) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (config.ignore_sigpipe) std::signal(SIGPIPE, SIG_IGN);
  if (rte_eal_init(static_cast<int>(eal->argv_storage_.size()), argv.data()) < 0) {
    return base::Err(Error{"rte_eal_init", rte_errno});
  }
  eal->running_ = true;
  // The EAL makes /var/run/dpdk/<prefix> even without shared files. When the prefix is
  // our per-process default, nobody else can use it: remove it on shutdown.
  const std::string dir = rte_eal_get_runtime_dir();
  if (config.file_prefix.empty() && std::filesystem::path(dir).filename() == default_prefix(getpid())) {
    eal->runtime_dir_ = dir;
  }
  return eal;
}

Eal::~Eal() {
  if (!running_) return;
  rte_eal_cleanup();
  if (!runtime_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(runtime_dir_, ignored);
  }
}

}  // namespace joyride::dev::dpdk
