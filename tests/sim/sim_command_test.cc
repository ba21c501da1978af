// The joyride-sim command itself, run as scripts and people run it: its last line is
// the verdict ("verified N bytes in T s simulated, R retransmits"), a run that cannot
// finish exits non-zero and says why on its last line, a bad flag exits non-zero
// with a message, and the same arguments give the same output (simulated time only).
// The binary's path comes from CMake (JOYRIDE_SIM_BINARY, $<TARGET_FILE:joyride-sim>).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <regex>
#include <string>

namespace {

struct SimRun {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr, interleaved as written
  std::string last_line() const {
    std::string s = output;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    const size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
};

// Runs joyride-sim with `args` (shell words, no quoting needed by the callers).
SimRun run_sim(const std::string& args) {
  const std::string cmd = std::string("'") + JOYRIDE_SIM_BINARY + "' " + args + " 2>&1";
  SimRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

const std::regex kVerified("^verified [0-9]+ bytes in [0-9.]+ s simulated, [0-9]+ retransmits$");

// Loss, reordering, duplication, corruption and a rate limit together, both ways: the
// run retransmits and still ends with the verdict line, counting both directions.
TEST(SimCommand, LossyRunEndsWithTheVerifiedLine) {
  const SimRun r = run_sim(
      "tcp --bytes 100000 --direction both --loss 0.05 --reorder 0.05 --dup 0.02 --corrupt 0.01 "
      "--delay 5ms --rate 20M --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string last = r.last_line();
  EXPECT_TRUE(std::regex_match(last, kVerified)) << last;
  EXPECT_EQ(last.rfind("verified 200000 bytes in ", 0), 0u) << last;
  // 5% loss over ~140 data segments each way: some were resent.
  EXPECT_EQ(last.find(", 0 retransmits"), std::string::npos) << last;
}

TEST(SimCommand, SameArgumentsSameOutput) {
  const std::string args = "tcp --bytes 60000 --direction echo --loss 0.03 --reorder 0.05 --dup 0.02 --delay 3ms --seed 11";
  const SimRun first = run_sim(args);
  const SimRun second = run_sim(args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output, second.output);
  // And the seed matters: another one takes another path through the loss.
  const SimRun other = run_sim("tcp --bytes 60000 --direction echo --loss 0.03 --reorder 0.05 --dup 0.02 --delay 3ms --seed 12");
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_NE(first.output, other.output);
}

// Every frame lost: the handshake never completes, the run hits its bound, and the
// last line says so (not "verified").
TEST(SimCommand, RunThatCannotFinishFailsWithAReason) {
  const SimRun r = run_sim("tcp --bytes 1000 --loss 1.0 --timeout 5s --seed 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string last = r.last_line();
  EXPECT_EQ(last.rfind("FAILED: timed out after 5 s simulated with 0 of 1000 bytes verified", 0), 0u) << last;
  EXPECT_FALSE(std::regex_search(r.output, std::regex("(^|\n)verified "))) << r.output;
}

TEST(SimCommand, BadFlagExitsWithAMessage) {
  const SimRun r = run_sim("tcp --bytes 1000 --loss 2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(r.output.rfind("joyride-sim: --loss 2: expected a probability such as 0.05 or 5%\n", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("usage: joyride-sim"), std::string::npos) << r.output;

  const SimRun unknown = run_sim("tcp --colour blue");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_EQ(unknown.output.rfind("joyride-sim: unknown option --colour\n", 0), 0u) << unknown.output;
}

}  // namespace
