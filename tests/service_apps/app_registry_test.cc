// AppRegistry: attach over a unix socket (region memfd + doorbells in the answer),
// refusals, and the end of an application when its attach connection hangs up.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "app_hosts.h"
#include "joyride/ipc/attach.h"
#include "joyride/service/app_registry.h"

namespace joyride::service {
namespace {

struct Answer {
  ipc::AttachReply reply;
  int fds[3] = {-1, -1, -1};
  ~Answer() {
    for (int f : fds)
      if (f >= 0) ::close(f);
  }
};

// The app's end: reads the AttachReply and its descriptors.
bool read_answer(int fd, Answer& a) {
  iovec iov{&a.reply, sizeof a.reply};
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(fd, &msg, MSG_DONTWAIT) != static_cast<ssize_t>(sizeof a.reply)) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_type == SCM_RIGHTS) std::memcpy(a.fds, CMSG_DATA(c), sizeof a.fds);
  return true;
}

// "attach <this build's region version> "
const std::string kAttachPrefix = "attach " + std::to_string(ipc::kRegionVersion) + " ";

class AppRegistryTest : public ::testing::Test {
 protected:
  AppRegistryTest() : registry(hosts.app_stack(), config()) {}
  static RegistryConfig config() {
    RegistryConfig c;
    c.max_apps = 2;
    c.limits = AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4};
    return c;
  }
  // A new app connection: the service's end goes to the registry, ours is returned.
  int attach(const std::string& request) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    registry.attach(sv[0], 1234, 0, request, hosts.now());
    return sv[1];
  }
  testing::AppHosts hosts;
  AppRegistry registry;
};

TEST_F(AppRegistryTest, AttachHandsOverASealedCheckedRegion) {
  ASSERT_TRUE(registry.ok());
  const int app = attach(kAttachPrefix + "my-server");
  Answer a;
  ASSERT_TRUE(read_answer(app, a));
  EXPECT_EQ(a.reply.magic, ipc::kAttachMagic);
  EXPECT_EQ(a.reply.status, 0);
  ASSERT_GE(a.fds[0], 0);
  ASSERT_GE(a.fds[1], 0);
  ASSERT_GE(a.fds[2], 0);
  void* region = ::mmap(nullptr, a.reply.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, a.fds[0], 0);
  ASSERT_NE(region, MAP_FAILED);
  ipc::RegionGeometry g;
  const char* why = nullptr;
  EXPECT_TRUE(ipc::check_header(region, a.reply.region_bytes, g, &why)) << why;
  EXPECT_EQ(g.max_sockets, 8u);
  // The app cannot shrink the region under the service (SIGBUS there) or grow it.
  EXPECT_NE(::ftruncate(a.fds[0], 4096), 0);
  EXPECT_EQ(errno, EPERM);
  ::munmap(region, a.reply.region_bytes);
  ASSERT_EQ(registry.apps(), 1u);
  registry.for_each_app([](const AppSession& s, bool alive) {
    EXPECT_EQ(s.command(), "my-server");
    EXPECT_EQ(s.pid(), 1234);
    EXPECT_TRUE(alive);
  });
  EXPECT_EQ(registry.counters()[RegistryCounter::kAttached], 1u);
  ::close(app);
}

TEST_F(AppRegistryTest, MalformedAndMismatchedRequestsAreRefusedWithAReason) {
  for (std::string_view request : {"attach", "attach x", "attach 99 cmd", "attach -1"}) {
    const int app = attach(std::string(request));
    Answer a;
    ASSERT_TRUE(read_answer(app, a)) << request;
    EXPECT_EQ(a.reply.status, EPROTO) << request;
    EXPECT_EQ(a.fds[0], -1) << request;
    EXPECT_NE(std::string(a.reply.message), "") << request;
    ::close(app);
  }
  EXPECT_EQ(registry.apps(), 0u);
  EXPECT_EQ(registry.counters()[RegistryCounter::kAttachRefused], 4u);
}

TEST_F(AppRegistryTest, TheApplicationLimitIsEmfile) {
  const int a1 = attach(kAttachPrefix + "a");
  const int a2 = attach(kAttachPrefix + "b");
  const int a3 = attach(kAttachPrefix + "c");
  Answer r;
  ASSERT_TRUE(read_answer(a3, r));
  EXPECT_EQ(r.reply.status, EMFILE);
  EXPECT_EQ(registry.apps(), 2u);
  ::close(a1);
  ::close(a2);
  ::close(a3);
}

TEST_F(AppRegistryTest, AHungUpConnectionEndsTheApplication) {
  const int app = attach(kAttachPrefix + "short-lived");
  {
    Answer a;
    ASSERT_TRUE(read_answer(app, a));
  }
  registry.check_sessions(hosts.now());
  EXPECT_EQ(registry.apps(), 1u);  // still attached: nothing happened
  ::close(app);
  registry.check_sessions(hosts.now());
  EXPECT_EQ(registry.apps(), 0u);
  EXPECT_EQ(registry.counters()[RegistryCounter::kAppsGone], 1u);
}

}  // namespace
}  // namespace joyride::service
