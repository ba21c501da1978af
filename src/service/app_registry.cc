#include "joyride/service/app_registry.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "joyride/base/parse_number.h"
#include "joyride/ipc/attach.h"
#include "joyride/ipc/region.h"

namespace joyride::service {

AppRegistry::AppRegistry(core::Stack& stack, const RegistryConfig& config) : stack_(stack), config_(config) {
  service_doorbell_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

AppRegistry::~AppRegistry() {
  sessions_.clear();
  if (service_doorbell_ >= 0) ::close(service_doorbell_);
}

void AppRegistry::refuse(int client, int error, std::string_view why) {
  counters_.inc(RegistryCounter::kAttachRefused);
  ipc::AttachReply reply;
  reply.version = ipc::kRegionVersion;
  reply.status = error;
  std::memcpy(reply.message, why.data(), std::min(why.size(), sizeof reply.message - 1));
  ipc::send_attach_reply(client, reply, -1, -1, -1);
  ::close(client);
}

void AppRegistry::attach(int client, pid_t pid, uid_t uid, std::string_view request, base::Instant now) {
  // "attach <version> <command>"
  std::string_view rest = request.substr(std::min(request.size(), ipc::kAttachVerb.size()));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const std::string_view version = rest.substr(0, rest.find(' '));
  std::string_view command = version.size() < rest.size() ? rest.substr(version.size() + 1) : std::string_view{};
  const auto v = base::parse_number<uint32_t>(version);
  if (!v) return refuse(client, EPROTO, "malformed attach request");
  if (*v != ipc::kRegionVersion) return refuse(client, EPROTO, "region version mismatch: upgrade the preload");
  size_t alive = 0;
  for (const auto& e : sessions_) alive += e.alive;
  if (alive >= config_.max_apps) return refuse(client, EMFILE, "too many applications (limits.max_apps)");

  ipc::RegionGeometry g;
  if (!ipc::compute_geometry(config_.limits.max_sockets, config_.limits.call_slots, config_.limits.fifo_bytes,
                             config_.limits.buffer_bytes, g))
    return refuse(client, EINVAL, "bad region limits in the service's config");
  const uint64_t id = next_id_++;
  const std::string name = "joyride-app-" + std::to_string(id);
  const int memfd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  void* region = MAP_FAILED;
  int app_doorbell = -1;
  auto fail = [&](const char* what) {
    counters_.inc(RegistryCounter::kAttachFailed);
    if (region != MAP_FAILED) ::munmap(region, g.region_bytes);
    if (memfd >= 0) ::close(memfd);
    if (app_doorbell >= 0) ::close(app_doorbell);
    refuse(client, ENOMEM, what);
  };
  if (memfd < 0 || ::ftruncate(memfd, static_cast<off_t>(g.region_bytes)) != 0) return fail("memfd");
  // Sealed: the app can neither shrink the region under the service (SIGBUS) nor grow it.
  if (::fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) return fail("memfd seals");
  region = ::mmap(nullptr, g.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (region == MAP_FAILED) return fail("mmap");
  ipc::init_header(region, g, id);
  app_doorbell = ::eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE | EFD_CLOEXEC);
  if (app_doorbell < 0) return fail("eventfd");

  ipc::AttachReply reply;
  reply.version = ipc::kRegionVersion;
  reply.region_bytes = g.region_bytes;
  reply.app_id = id;
  if (!ipc::send_attach_reply(client, reply, memfd, app_doorbell, service_doorbell_)) {
    counters_.inc(RegistryCounter::kAttachFailed);
    ::munmap(region, g.region_bytes);
    ::close(memfd);
    ::close(app_doorbell);
    ::close(client);
    return;
  }
  ::close(memfd);  // the mapping keeps the memory; the app holds its own fd
  ::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) | O_NONBLOCK);
  Entry e;
  e.session = std::make_unique<AppSession>(id, client, pid, uid, std::string(command), stack_, now, config_.limits,
                                           g, region, app_doorbell);
  sessions_.push_back(std::move(e));
  counters_.inc(RegistryCounter::kAttached);
}

size_t AppRegistry::poll(base::Instant now) {
  size_t work = 0;
  for (auto& e : sessions_) {
    work += e.session->poll(now);
    e.session->wake();
  }
  return work;
}

void AppRegistry::end(Entry& e, base::Instant now) {
  e.alive = false;
  e.gone_at = now;
  counters_.inc(RegistryCounter::kAppsGone);
  e.session->close_all(now);
}

void AppRegistry::check_sessions(base::Instant now) {
  if (sessions_.empty()) return;
  std::vector<pollfd> fds;
  fds.reserve(sessions_.size());
  for (const auto& e : sessions_) fds.push_back(pollfd{e.alive ? e.session->session_fd() : -1, POLLIN, 0});
  if (::poll(fds.data(), fds.size(), 0) > 0) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      // Anything but more bytes (which an app has no reason to send) is the end.
      char buf[64];
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (fds[i].revents & (POLLHUP | POLLERR)))
        end(sessions_[i], now);
    }
  }
  // Dead applications leave once their sockets are done with the region and their
  // instance's connections have finished closing, or at drain_limit: then what is
  // left is reset and the instance goes with the session.
  for (size_t i = 0; i < sessions_.size();) {
    Entry& e = sessions_[i];
    if (e.alive) {
      ++i;
      continue;
    }
    const bool drained = e.session->drained();
    if (!drained && now - e.gone_at <= config_.drain_limit) {
      ++i;
      continue;
    }
    if (!drained) {
      counters_.inc(RegistryCounter::kDrainTimeouts);
      e.session->abort_all(now);
      e.session->instance().tcp().reset_all(now);  // the orphans still closing too
    }
    sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void AppRegistry::stop(base::Instant now) {
  for (auto& e : sessions_) {
    e.session->abort_all(now);
  }
}

bool AppRegistry::before_sleep() {
  bool work = false;
  for (auto& e : sessions_) work |= e.session->set_service_sleeping(true);
  return work;
}

void AppRegistry::after_sleep() {
  for (auto& e : sessions_) e.session->set_service_sleeping(false);
  uint64_t v;
  while (::read(service_doorbell_, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

}  // namespace joyride::service
