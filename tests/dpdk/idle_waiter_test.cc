// IdleWaiter: an idle poller sleeps on rx queue interrupts and watched fds. None of
// the vdevs this process can create has ethdev rx interrupts (net_ring, net_memif and
// net_pcap do not; net_tap does, but would put a tap in the root namespace), so here:
// a waiter over them says it cannot use interrupts, and a readable watched fd still
// wakes it. A frame waking an armed queue is exercised over net_tap by the interop
// tests (tests/interop/interop.py, idle_cpu: joyrided asleep, and still answering).
#include "joyride/dev/dpdk/idle_waiter.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vector>

#include "dpdk_env.h"

namespace joyride::dev::dpdk {
namespace {

using testing::DpdkEnv;
using testing::dpdk_env;
using testing::receive;
using testing::wait_link_up;

// Bounds every wait that should end early: reaching it fails the test, it is not
// something the test waits out.
const base::Duration kLong = base::Duration::millis(5000);
// Waits that must time out (nothing can arrive): short, and their length does not
// decide the outcome.
const base::Duration kShort = base::Duration::millis(20);

class IdleWaiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dpdk_env().ok()) << dpdk_env().error();
    server_ = dpdk_env().port(DpdkEnv::kMemifServer);
    client_ = dpdk_env().port(DpdkEnv::kMemifClient);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(client_, nullptr);
    ASSERT_TRUE(wait_link_up(*server_, *client_));
    receive(*server_, SIZE_MAX, 2);  // whatever an earlier test left
  }
  Port* server_ = nullptr;
  Port* client_ = nullptr;
};

TEST_F(IdleWaiterTest, AReadableWatchedFdWakes) {
  Port* ports[] = {server_};
  IdleWaiter waiter(ports);
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(waiter.watch(fd));
  waiter.arm();
  EXPECT_EQ(waiter.wait(kShort), 0);  // nothing yet
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  EXPECT_EQ(waiter.wait(kLong), 1);
  waiter.disarm();
  ::close(fd);
}

TEST_F(IdleWaiterTest, APortWithoutRxInterruptsSaysSo) {
  Port* ring = dpdk_env().port(DpdkEnv::kLoopback);
  ASSERT_NE(ring, nullptr);
  EXPECT_FALSE(ring->capabilities().rx_interrupts);
  EXPECT_FALSE(server_->capabilities().rx_interrupts);
  Port* ports[] = {ring, server_};
  IdleWaiter waiter(ports);
  EXPECT_FALSE(waiter.interrupts());
  Port* none[] = {ring};
  EXPECT_FALSE(IdleWaiter(std::span<Port* const>(none).first(0)).interrupts());
}

}  // namespace
}  // namespace joyride::dev::dpdk
