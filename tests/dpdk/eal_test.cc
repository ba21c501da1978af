// The EAL command line (a pure function, table-driven) and the one EAL start-up of the
// test process. This file also registers the process's DpdkEnv.
#include <gtest/gtest.h>
#include <rte_eal.h>

#include <cerrno>
#include <string>
#include <vector>

#include "dpdk/dpdk_env.h"
#include "joyride/dev/dpdk/eal.h"

namespace joyride::dev::dpdk {
namespace {

using testing::dpdk_env;

// Registered during static initialisation, before main runs the tests.
[[maybe_unused]] const bool kEnvRegistered = (dpdk_env(), true);

using Args = std::vector<std::string>;

struct ArgsCase {
  const char* name;
  EalConfig config;
  Args expected;
};

EalConfig with(auto&& edit) {
  EalConfig c;
  edit(c);
  return c;
}

const Args kDefaultTail = {"--no-shconf", "--file-prefix", "joyride-4242", "--no-pci"};

Args concat(Args a, const Args& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const ArgsCase kArgsCases[] = {
    {"defaults", EalConfig{}, concat({"joyride", "-l", "0", "--no-huge", "-m", "512"}, kDefaultTail)},
    {"lcores", with([](EalConfig& c) { c.lcores = {1, 3}; }),
     concat({"joyride", "-l", "1,3", "--no-huge", "-m", "512"}, kDefaultTail)},
    {"hugepages_and_dpdk_memory_default", with([](EalConfig& c) {
       c.no_huge = false;
       c.memory_mb = 0;
     }),
     {"joyride", "-l", "0", "--in-memory", "--file-prefix", "joyride-4242", "--no-pci"}},
    {"own_prefix", with([](EalConfig& c) { c.file_prefix = "mine"; }),
     {"joyride", "-l", "0", "--no-huge", "-m", "512", "--no-shconf", "--file-prefix", "mine", "--no-pci"}},
    {"pci_allow_replaces_no_pci", with([](EalConfig& c) { c.pci_allow = {"0000:01:00.0", "0000:01:00.1"}; }),
     {"joyride", "-l", "0", "--no-huge", "-m", "512", "--no-shconf", "--file-prefix", "joyride-4242", "-a",
      "0000:01:00.0", "-a", "0000:01:00.1"}},
    {"multi_process_without_hugepages_shares_files", with([](EalConfig& c) { c.multi_process = true; }),
     {"joyride", "-l", "0", "--no-huge", "-m", "512", "--file-prefix", "joyride-4242", "--no-pci"}},
    {"multi_process_with_hugepages_unlinks_them", with([](EalConfig& c) {
       c.multi_process = true;
       c.no_huge = false;
     }),
     {"joyride", "-l", "0", "-m", "512", "--huge-unlink", "--file-prefix", "joyride-4242", "--no-pci"}},
    {"vdevs_in_order_then_extra", with([](EalConfig& c) {
       c.vdevs = {"net_ring0", "net_memif0,role=server,socket=/tmp/s.sock"};
       c.extra_args = {"--no-telemetry", "--log-level=8"};
     }),
     concat(concat({"joyride", "-l", "0", "--no-huge", "-m", "512"}, kDefaultTail),
            {"--vdev", "net_ring0", "--vdev", "net_memif0,role=server,socket=/tmp/s.sock", "--no-telemetry",
             "--log-level=8"})},
};

class EalArgs : public ::testing::TestWithParam<ArgsCase> {};

TEST_P(EalArgs, BuildsTheCommandLine) {
  const ArgsCase& c = GetParam();
  EXPECT_EQ(eal_arguments(c.config, 4242), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, EalArgs, ::testing::ValuesIn(kArgsCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(EalArgsRules, NeverSharedFilesAndNeverPciUnlessAllowed) {
  for (const ArgsCase& c : kArgsCases) {
    const Args a = eal_arguments(c.config, 1);
    auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
    if (!c.config.multi_process) {
      EXPECT_TRUE(has(c.config.no_huge ? "--no-shconf" : "--in-memory")) << c.name;
    }
    EXPECT_FALSE(c.config.no_huge && has("--in-memory")) << c.name;  // the EAL would refuse to start
    EXPECT_TRUE(has("-l")) << c.name;
    EXPECT_EQ(has("--no-pci"), c.config.pci_allow.empty()) << c.name;
    EXPECT_EQ(has("-a"), !c.config.pci_allow.empty()) << c.name;
  }
}

TEST(EalArgsRules, DefaultPrefixDiffersBetweenProcesses) {
  EXPECT_NE(eal_arguments({}, 100), eal_arguments({}, 101));
}

TEST(Eal, StartedOnceForTheProcess) {
  ASSERT_TRUE(dpdk_env().ok()) << dpdk_env().error();
  EXPECT_EQ(rte_eal_process_type(), RTE_PROC_PRIMARY);
  // The EAL refuses a second start; Eal reports it as an error, not a crash.
  auto again = Eal::init(EalConfig{});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EALREADY) << again.error().message();
  EXPECT_NE(again.error().message().find("rte_eal_init"), std::string::npos);
}

}  // namespace
}  // namespace joyride::dev::dpdk
