// An application's own stack instance (core/stack_instance.h) under its AppSession:
// its sockets, events and buffers are its own, within the buffer budget of its
// limits; the host's instance and its counters see none of it.
#include <sys/socket.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "app_hosts.h"

namespace joyride::service {
namespace {

using testing::AppHosts;
using testing::kPeerHost;
using testing::wire_address;
using Handle = AppHosts::Handle;

constexpr uint16_t kPeerPort = 5001;

core::SocketId peer_listener(AppHosts& h) {
  auto& tcp = h.peer().tcp();
  const core::SocketId l = *tcp.open();
  EXPECT_TRUE(tcp.bind(l, {kPeerHost, kPeerPort}).ok());
  EXPECT_TRUE(tcp.listen(l, 16).ok());
  return l;
}

TEST(AppInstance, AnAppsSocketsLiveInItsOwnInstance) {
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4});
  const core::SocketId l = peer_listener(h);
  EXPECT_EQ(h.app_stack().instances(), 2u);
  const Handle s = h.open_socket();
  const auto to = wire_address(kPeerHost, kPeerPort);
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, s.index, s.generation, {}, &to).result, 0);
  ASSERT_TRUE(h.run_until([&] { return (h.flags(s) & ipc::kConnected) != 0; }));
  EXPECT_TRUE(h.run_until([&] { return h.peer().tcp().accept(l).ok(); }));
  EXPECT_EQ(h.session().instance().tcp().connections(), 1u);
  EXPECT_EQ(h.app_stack().tcp().connections(), 0u) << "nothing of the app in the host's instance";
  EXPECT_GT(h.session().instance().tcp().counters()[core::TcpCounter::kRxSegments], 0u);
  EXPECT_EQ(h.app_stack().tcp().counters()[core::TcpCounter::kRxSegments], 0u);
  std::array<core::SocketEvent, 8> ev;
  EXPECT_EQ(h.app_stack().take_events(ev), 0u) << "the app's events are its instance's";
}

TEST(AppInstance, TheBufferBudgetIsEnobufs) {
  // Room for exactly one connection's two rings at the default sizes.
  const core::TcpConfig defaults;
  const uint64_t one = defaults.sndbuf_default + defaults.rcvbuf_default;
  AppHosts h(AppLimits{.max_sockets = 8, .fifo_bytes = 4096, .call_slots = 4, .buffer_bytes = one});
  peer_listener(h);
  const auto to = wire_address(kPeerHost, kPeerPort);
  const Handle a = h.open_socket();
  ASSERT_EQ(h.call(ipc::CallOp::kConnect, a.index, a.generation, {}, &to).result, 0);
  EXPECT_EQ(h.session().buffer_bytes_in_use(), one);
  const Handle b = h.open_socket();
  EXPECT_EQ(h.call(ipc::CallOp::kConnect, b.index, b.generation, {}, &to).result, -ENOBUFS);
  // The first closes and gives its rings back: the second may connect now.
  ASSERT_EQ(h.call(ipc::CallOp::kClose, a.index, a.generation).result, 0);
  ASSERT_TRUE(h.run_until([&] { return h.session().buffer_bytes_in_use() == 0; }));
  EXPECT_EQ(h.call(ipc::CallOp::kConnect, b.index, b.generation, {}, &to).result, 0);
}

}  // namespace
}  // namespace joyride::service
