// The applications attached to joyrided: attach (region + doorbells + the app's own
// stack instance on the host), the service loop's per-round work for every
// application, and the end of an application.
//
// An application is gone when its attach connection hangs up (every fd of the
// process closed: it exited or was killed). Its sockets are then closed as the
// kernel closes a dead process's fds: queued data still goes out and FIN follows;
// unread data means RST. Its region is unmapped once the last of its sockets has
// finished with the FIFOs and its instance's connections have finished closing (at
// most drain_limit later); then its instance goes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "joyride/base/counters.h"
#include "joyride/base/time.h"
#include "joyride/core/stack.h"
#include "joyride/service/app_session.h"

namespace joyride::service {

enum class RegistryCounter : uint8_t {
  kAttached,
  kAttachRefused,    // limit (EMFILE), bad request or version (EPROTO)
  kAttachFailed,     // the service could not make the region (memfd, mmap, eventfd)
  kAppsGone,
  kDrainTimeouts,    // a dead app's sockets still held FIFO bytes at drain_limit
  kCount,
};
constexpr std::array<std::string_view, 5> counter_names(RegistryCounter) {
  return {"attached", "attach_refused", "attach_failed", "apps_gone", "drain_timeouts"};
}

struct RegistryConfig {
  uint32_t max_apps = 64;
  AppLimits limits;
  base::Duration drain_limit = base::Duration::seconds(30);
};

class AppRegistry {
 public:
  // Fails (false from ok()) only when the service doorbell cannot be created.
  AppRegistry(core::Stack& stack, const RegistryConfig& config);
  ~AppRegistry();
  AppRegistry(const AppRegistry&) = delete;
  AppRegistry& operator=(const AppRegistry&) = delete;
  bool ok() const { return service_doorbell_ >= 0; }

  // An "attach ..." request line on the control socket from a permitted peer; takes
  // the connection (answers, and keeps it as the session or closes it).
  void attach(int client, pid_t pid, uid_t uid, std::string_view request, base::Instant now);

  // Every application's calls, kicks and instance events, then the doorbells.
  // Returns the work done.
  size_t poll(base::Instant now);
  // Looks for hung-up attach connections (a system call: call it every few ms, not
  // every round) and ends dead applications' drains.
  void check_sessions(base::Instant now);
  // The service stops: every application socket is reset (as the built-in
  // services' are), so peers learn at once.
  void stop(base::Instant now);

  // Around the service's sleep: tells every application (they then ring the service
  // doorbell); true when one of them had work queued meanwhile (do not sleep).
  bool before_sleep();
  void after_sleep();
  // The eventfd applications write while the service sleeps (watch it).
  int service_doorbell() const { return service_doorbell_; }

  size_t apps() const { return sessions_.size(); }
  const base::CounterSet<RegistryCounter>& counters() const { return counters_; }
  // f(const AppSession&, bool alive) for every application, attached or draining.
  template <typename F>
  void for_each_app(F&& f) const {
    for (const auto& s : sessions_) f(*s.session, s.alive);
  }

 private:
  struct Entry {
    std::unique_ptr<AppSession> session;
    bool alive = true;
    base::Instant gone_at;
  };
  void refuse(int client, int error, std::string_view why);
  void end(Entry& e, base::Instant now);  // the app died: close its sockets

  core::Stack& stack_;
  RegistryConfig config_;
  int service_doorbell_ = -1;
  uint64_t next_id_ = 1;
  std::vector<Entry> sessions_;
  base::CounterSet<RegistryCounter> counters_;
};

}  // namespace joyride::service
