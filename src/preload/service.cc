#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <mutex>
#include <string>

#include "debug_log.h"
#include "fd_table.h"
#include "joyride/ipc/attach.h"
#include "joyride/ipc/wait.h"
#include <sys/syscall.h>
#include <unistd.h>

#include "libc_calls.h"

namespace joyride::preload {
namespace {

constexpr const char* kDefaultServicePath = "/run/joyride/joyrided.sock";

// Serialises the one attach attempt. Taken around fork() too (atfork), so a child
// never inherits it locked by a thread that does not exist there.
std::mutex g_attach_mutex;

void before_fork() { g_attach_mutex.lock(); }
void after_fork_parent() { g_attach_mutex.unlock(); }
// The child shares the region (MAP_SHARED) but is not an attached process of its own
// yet (fork support is the next step): it must not drive the parent's sockets, whose
// call slots and FIFOs the parent keeps using. Marking it inherited makes every
// inherited Joyride fd fail with EBADF and sends its new sockets to the kernel.
void after_fork_child() {
  g_attach_mutex.unlock();
  if (service().attached()) service().mark_inherited();
}

__attribute__((constructor)) void register_fork_handlers() {
  ::pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

}  // namespace

int move_out_of_the_way(int fd, int band) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return fd;
  const rlim_t ceiling = lim.rlim_cur < (rlim_t{1} << 16) ? lim.rlim_cur : (rlim_t{1} << 16);
  if (ceiling < rlim_t{4} * static_cast<rlim_t>(band)) return fd;  // too few numbers to hide in
  const int moved = libc().fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(ceiling) - band);
  if (moved < 0) return fd;
  libc().close(fd);
  return moved;
}

bool Service::in_vfork_child() const {
  return attached_pid_ != 0 && static_cast<pid_t>(::syscall(SYS_getpid)) != attached_pid_ && !inherited();
}


bool Service::ensure_attached() {
  const int s = state_.load(std::memory_order_acquire);
  if (s != kUnknown) return s == kAttached;
  std::lock_guard<std::mutex> hold(g_attach_mutex);
  if (state_.load(std::memory_order_relaxed) == kUnknown) {
    attached_pid_ = static_cast<pid_t>(::syscall(SYS_getpid));
    state_.store(attach_now() ? kAttached : kKernel, std::memory_order_release);
  }
  return state_.load(std::memory_order_relaxed) == kAttached;
}

bool Service::attach_now() {
  const int saved_errno = errno;  // attaching is invisible to the app
  const char* env = ::getenv("JOYRIDE_SERVICE");
  const std::string path = (env != nullptr && *env != '\0') ? env : kDefaultServicePath;
  ipc::Attached a;
  std::string error;
  bool ok = ipc::attach(path, program_invocation_short_name, a, error);
  void* map = MAP_FAILED;
  const char* why = nullptr;
  if (ok) {
    struct stat st{};
    // A memfd shorter than the size the service announced would SIGBUS us later.
    if (::fstat(a.region_fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < a.reply.region_bytes ||
        a.reply.region_bytes < sizeof(ipc::RegionHeader)) {
      error = "the region memfd is smaller than the announced size";
      ok = false;
    }
  }
  if (ok) {
    map = ::mmap(nullptr, a.reply.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, a.region_fd, 0);
    if (map == MAP_FAILED) {
      error = std::string("mmap of the region: ") + ::strerror(errno);
      ok = false;
    }
  }
  if (ok && !ipc::check_header(map, a.reply.region_bytes, geometry_, &why)) {
    error = std::string("region refused: ") + why;
    ok = false;
  }
  if (!ok) {
    if (map != MAP_FAILED) ::munmap(map, a.reply.region_bytes);
    for (int fd : {a.session_fd, a.region_fd, a.app_doorbell, a.service_doorbell})
      if (fd >= 0) libc().close(fd);
    JOYRIDE_DEBUG("not attached, every socket of this process is a kernel socket: %s", error.c_str());
    errno = saved_errno;
    return false;
  }
  // The mapping outlives the memfd's descriptor: one fewer fd in the app's table.
  libc().close(a.region_fd);
  base_ = static_cast<uint8_t*>(map);
  header_ = reinterpret_cast<ipc::RegionHeader*>(base_);
  session_fd_ = move_out_of_the_way(a.session_fd, kServiceFdBand);
  app_doorbell_ = move_out_of_the_way(a.app_doorbell, kServiceFdBand);
  service_doorbell_ = move_out_of_the_way(a.service_doorbell, kServiceFdBand);
  JOYRIDE_DEBUG("attached to %s: app %llu, %u sockets, %u call slots, %u-byte FIFOs", path.c_str(),
                static_cast<unsigned long long>(a.reply.app_id), geometry_.max_sockets, geometry_.call_slots,
                geometry_.fifo_bytes);
  errno = saved_errno;
  return true;
}

ipc::CallSlot& Service::call_slot(uint32_t i) const {
  return reinterpret_cast<ipc::CallSlot*>(base_ + geometry_.calls_offset)[i];
}

ipc::SocketShared& Service::socket_shared(uint32_t index) const {
  return reinterpret_cast<ipc::SocketShared*>(base_ + geometry_.sockets_offset)[index];
}

// One ring per sleep: the first thread to see the flag takes it (exchange), so the
// sends that follow while joyrided is still waking (tens of microseconds here) make
// no system call. joyrided sets the flag again before its next sleep.
void Service::ring_if_sleeping() const {
  if (header_->service_sleeping.load(std::memory_order_seq_cst) != 0 &&
      header_->service_sleeping.exchange(0, std::memory_order_seq_cst) != 0)
    ipc::ring_doorbell(service_doorbell_);
}

void Service::kick(uint32_t index) const {
  ipc::raise_kick(base_, geometry_, index);
  ring_if_sleeping();
}

void Service::announce_call() const {
  header_->calls_pending.fetch_add(1);
  ring_if_sleeping();
}

void Service::wake_local_sleepers() const {
  header_->wake_seq.fetch_add(1);
  if (header_->futex_waiters.load() != 0) ipc::futex_wake_all(header_->wake_seq);
}

void Service::count_fallback(ipc::FallbackReason reason) const {
  if (attached()) header_->fallback_count[reason].fetch_add(1, std::memory_order_relaxed);
}

bool Service::is_private_fd(int fd) const {
  if (fd < 0 || !attached()) return false;
  if (fd == session_fd_ || fd == app_doorbell_ || fd == service_doorbell_) return true;
  return lookup_fd(fd).kind == FdKind::kPrivate;  // a wildcard listener's kernel twin
}

bool Service::service_gone() const {
  pollfd p{session_fd_, POLLIN, 0};
  return libc().poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN)) != 0;
}

}  // namespace joyride::preload
