// A misbehaving application, for tests/app/run_apps.sh: it attacks joyrided through
// the application interface only (the attach socket and its own region) and checks
// that joyrided refuses each thing, stays up and keeps answering. Another
// application's transfer runs meanwhile; the script checks that one separately.
//
//   joyride_hostile_app SERVICE_SOCKET PEER_IP PORT
//
// PEER_IP:PORT is a Linux listener (a sink) the app connects to before corrupting
// that connection's FIFO. Prints one line per attack and exits 0 when joyrided
// answered every step as it should, 1 otherwise.
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "joyride/ipc/attach.h"
#include "joyride/ipc/region.h"
#include "joyride/ipc/wait.h"

namespace {

using namespace joyride;

int failures = 0;

void report(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok    " : "FAILED", what.c_str());
  if (!ok) ++failures;
}

int connect_unix(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` and reads what comes back within 3 s (the service looks at its
// socket every 10 ms).
std::string exchange(const std::string& path, const std::string& bytes) {
  const int fd = connect_unix(path);
  if (fd < 0) return "<no connection>";
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[512];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 3000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

bool service_answers(const std::string& path) { return exchange(path, "stat\n").find("Applications") != std::string::npos; }

struct App {
  ipc::Attached attached;
  uint8_t* region = nullptr;
  ipc::RegionGeometry g;
  ipc::RegionHeader& header() { return *reinterpret_cast<ipc::RegionHeader*>(region); }
  ipc::CallSlot& slot(uint32_t i) { return reinterpret_cast<ipc::CallSlot*>(region + g.calls_offset)[i]; }
  ipc::SocketShared& shared(uint32_t i) { return reinterpret_cast<ipc::SocketShared*>(region + g.sockets_offset)[i]; }

  // One well-formed call in slot 0; waits (bounded) for the answer.
  bool call(ipc::CallOp op, uint32_t socket, uint32_t generation, int64_t arg0, const ipc::WireAddress* addr,
            int64_t& result, int64_t& out0) {
    ipc::CallSlot& c = slot(0);
    c.op = static_cast<uint32_t>(op);
    c.socket = socket;
    c.generation = generation;
    c.args[0] = arg0;
    if (addr != nullptr) c.addr = *addr;
    c.state.store(ipc::kRequested, std::memory_order_release);
    header().calls_pending.fetch_add(1);
    ipc::ring_doorbell(attached.service_doorbell);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (c.state.load(std::memory_order_acquire) != ipc::kDone) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // polling a bounded wait, not a race
    }
    result = c.result;
    out0 = c.out[0];
    c.state.store(ipc::kFree);
    return true;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: joyride_hostile_app SERVICE_SOCKET PEER_IP PORT\n");
    return 2;
  }
  const std::string path = argv[1];
  ipc::WireAddress peer;
  peer.family = AF_INET;
  peer.port = static_cast<uint16_t>(std::atoi(argv[3]));
  if (::inet_pton(AF_INET, argv[2], peer.bytes) != 1) return 2;

  // 1. Malformed attach requests: each refused with a reason, the service unharmed.
  for (const char* bad : {"attach\n", "attach banana\n", "attach 99 prog\n", "attach 4294967297 x\n"}) {
    const std::string got = exchange(path, bad);
    ipc::AttachReply r;
    const bool refused = got.size() == sizeof r && (std::memcpy(&r, got.data(), sizeof r), r.status != 0);
    report(refused, std::string("attach request refused: ") + std::string(bad, std::strlen(bad) - 1));
  }
  report(exchange(path, std::string(2000, 'x')).find("error") != std::string::npos, "2000 bytes of garbage refused");
  report(service_answers(path), "service answers after bad requests");

  // 2. A proper attach, then lies in the region.
  App app;
  std::string error;
  if (!ipc::attach(path, "hostile", app.attached, error)) {
    report(false, "attach: " + error);
    return 1;
  }
  app.region = static_cast<uint8_t*>(::mmap(nullptr, app.attached.reply.region_bytes, PROT_READ | PROT_WRITE,
                                            MAP_SHARED, app.attached.region_fd, 0));
  const char* why = nullptr;
  report(app.region != MAP_FAILED && ipc::check_header(app.region, app.attached.reply.region_bytes, app.g, &why),
         "attached and mapped its region");
  int64_t result = 0, out0 = 0;
  // Calls naming sockets it does not have, and ops that do not exist.
  report(app.call(ipc::CallOp::kListen, 5, 77, 1, nullptr, result, out0) && result == -EBADF, "foreign socket: EBADF");
  report(app.call(ipc::CallOp::kClose, 0xffffffffu, 0, 0, nullptr, result, out0) && result == -EBADF,
         "out-of-range socket: EBADF");
  report(app.call(static_cast<ipc::CallOp>(0xdead), 0, 0, 0, nullptr, result, out0) && result != 0, "unknown op refused");
  // A real connection, then its FIFO index set past the FIFO: that socket is reset.
  report(app.call(ipc::CallOp::kSocket, 0, 0, SOCK_STREAM, nullptr, result, out0) && result >= 0, "socket()");
  const uint32_t s = static_cast<uint32_t>(result), gen = static_cast<uint32_t>(out0);
  report(app.call(ipc::CallOp::kConnect, s, gen, 0, &peer, result, out0) && result == 0, "connect()");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((app.shared(s).flags.load() & ipc::kConnected) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  report((app.shared(s).flags.load() & ipc::kConnected) != 0, "connected to the peer");
  app.shared(s).tx.tail.store(uint64_t{app.g.fifo_bytes} * 3);
  app.shared(s).rx.head.store(~uint64_t{0});
  app.header().kick_summary.store(~uint64_t{0});
  for (uint32_t w = 0; w < app.g.kick_words; ++w)
    reinterpret_cast<std::atomic<uint64_t>*>(app.region + app.g.kicks_offset)[w].store(~uint64_t{0});
  ipc::ring_doorbell(app.attached.service_doorbell);
  const auto until2 = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((app.shared(s).flags.load() & ipc::kReset) == 0 && std::chrono::steady_clock::now() < until2)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  report((app.shared(s).flags.load() & ipc::kReset) != 0, "corrupted FIFO index: that socket reset");
  // Random bytes over every call slot, states included, then the header's geometry.
  std::mt19937_64 rng(42);
  for (uint32_t i = 0; i < app.g.call_slots; ++i) {
    auto* p = reinterpret_cast<uint8_t*>(&app.slot(i));
    for (size_t k = 0; k < sizeof(ipc::CallSlot); ++k) p[k] = static_cast<uint8_t>(rng());
    app.slot(i).state.store(ipc::kRequested);
  }
  app.header().calls_pending.store(1);
  app.header().futex_waiters.store(0);
  app.header().poll_waiters.store(0);
  ipc::ring_doorbell(app.attached.service_doorbell);
  bool answered = false;
  const auto until3 = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!answered && std::chrono::steady_clock::now() < until3) {
    answered = true;
    for (uint32_t i = 0; i < app.g.call_slots; ++i) answered &= app.slot(i).state.load() == ipc::kDone;
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  report(answered, "every garbage call answered (none hangs the service)");
  app.header().magic = 0;
  app.header().fifos_offset = ~uint64_t{0};
  app.header().max_sockets = ~uint32_t{0};
  for (uint32_t i = 0; i < app.g.max_sockets; ++i) app.shared(i).tx.tail.store(rng());
  app.header().kick_summary.store(~uint64_t{0});
  ipc::ring_doorbell(app.attached.service_doorbell);
  report(service_answers(path), "service answers after the region was scribbled over");
  std::printf("%d failures\n", failures);
  return failures == 0 ? 0 : 1;
}
