#include "data_path.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "blocking.h"
#include "control_call.h"
#include "datagram_path.h"
#include "service.h"

namespace joyride::preload {
namespace {

// Walks the caller's iovec array as one byte sequence.
class IovCursor {
 public:
  IovCursor(const iovec* iov, int count) : iov_(iov), count_(count) {}
  // Copies up to n bytes from src into the iovecs; returns how many.
  size_t fill(const uint8_t* src, size_t n) {
    size_t done = 0;
    while (done < n && index_ < count_) {
      const size_t room = iov_[index_].iov_len - offset_;
      const size_t k = room < n - done ? room : n - done;
      std::memcpy(static_cast<uint8_t*>(iov_[index_].iov_base) + offset_, src + done, k);
      advance(k);
      done += k;
    }
    return done;
  }
  // Copies up to n bytes from the iovecs into dst; returns how many.
  size_t drain(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n && index_ < count_) {
      const size_t room = iov_[index_].iov_len - offset_;
      const size_t k = room < n - done ? room : n - done;
      std::memcpy(dst + done, static_cast<const uint8_t*>(iov_[index_].iov_base) + offset_, k);
      advance(k);
      done += k;
    }
    return done;
  }

 private:
  void advance(size_t k) {
    offset_ += k;
    while (index_ < count_ && offset_ >= iov_[index_].iov_len) {
      offset_ = 0;
      ++index_;
    }
  }
  const iovec* iov_;
  int count_;
  int index_ = 0;
  size_t offset_ = 0;
};

// Sum of the lengths, or -EINVAL as Linux's import_iovec (count or total out of range).
ssize_t total_length(const iovec* iov, int count) {
  if (count < 0 || count > IOV_MAX) return -EINVAL;
  if (count > 0 && iov == nullptr) return -EFAULT;
  size_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len > static_cast<size_t>(SSIZE_MAX) - total) return -EINVAL;
    total += iov[i].iov_len;
  }
  return static_cast<ssize_t>(total);
}

// The FIFO bytes [pos, pos+n) out to the cursor (wrapping at the FIFO's end).
void copy_out_of_fifo(const uint8_t* fifo, uint64_t size, uint64_t pos, size_t n, IovCursor& to) {
  const uint64_t at = pos % size;
  const size_t first = static_cast<size_t>(size - at) < n ? static_cast<size_t>(size - at) : n;
  to.fill(fifo + at, first);
  if (n > first) to.fill(fifo, n - first);
}

void copy_into_fifo(uint8_t* fifo, uint64_t size, uint64_t pos, size_t n, IovCursor& from) {
  const uint64_t at = pos % size;
  const size_t first = static_cast<size_t>(size - at) < n ? static_cast<size_t>(size - at) : n;
  from.drain(fifo + at, first);
  if (n > first) from.drain(fifo, n - first);
}

// SIGPIPE to the calling thread, as Linux's send_sig(SIGPIPE, current).
void raise_sigpipe() { ::syscall(SYS_tgkill, ::getpid(), static_cast<pid_t>(::syscall(SYS_gettid)), SIGPIPE); }

ssize_t broken_pipe(int flags) {
  if ((flags & MSG_NOSIGNAL) == 0) raise_sigpipe();
  return -EPIPE;
}

// A connect that failed while another call waited on it: its error, once (as
// Linux's sock_error), and the socket is unconnected again.
int failed_connect_error(AppSocket& s) {
  int e = take_socket_error(s);
  if (e == 0) e = s.shared().error.load();
  if (e <= 0 || e >= 4096) e = ECONNREFUSED;
  s.set_connect(ConnectState::kUnconnected);
  return e;
}

// What recv() reports when the FIFO is empty: EOF, an error, or "wait" (1).
ssize_t empty_rx_outcome(AppSocket& s, uint32_t f) {
  if ((f & ipc::kRefused) != 0 && s.connect() == ConnectState::kConnecting) return -failed_connect_error(s);
  if ((f & ipc::kError) != 0) {
    const int e = take_socket_error(s);
    if (e != 0) {
      if (e == ECONNRESET) s.reset_reported.store(true);
      return -e;
    }
  }
  if ((f & ipc::kReset) != 0) return s.reset_reported.exchange(true) ? 0 : -ECONNRESET;
  if ((f & ipc::kRdEof) != 0 || s.shut_rd.load()) return 0;
  if (s.listening.load() || (f & ipc::kListening) != 0) return -ENOTCONN;
  if ((f & ipc::kConnected) == 0 && s.connect() == ConnectState::kUnconnected) return -ENOTCONN;
  return 1;
}

}  // namespace

ssize_t joyride_recv(const SocketRef& ref, const iovec* iov, int iov_count, int flags) {
  if (ref.socket->datagram.load(std::memory_order_relaxed))
    return datagram_recv(ref, iov, iov_count, flags, nullptr, nullptr, nullptr);
  const ssize_t total = total_length(iov, iov_count);
  if (total < 0) return total;
  if ((flags & MSG_OOB) != 0) return -EINVAL;  // no urgent data is ever queued
  AppSocket& s = *ref.socket;
  Service& svc = service();
  const uint64_t size = svc.geometry().fifo_bytes;
  const bool peek = (flags & MSG_PEEK) != 0;
  const bool discard = (flags & MSG_TRUNC) != 0;
  const bool nonblocking = (flags & MSG_DONTWAIT) != 0 || s.nonblocking.load(std::memory_order_relaxed);
  const bool wait_all = (flags & MSG_WAITALL) != 0 && !peek;
  const Deadline deadline(s.recv_timeout_ns.load(std::memory_order_relaxed));
  IovCursor to(iov, iov_count);
  size_t copied = 0;
  for (;;) {
    s.recv_lock.lock();
    if (!ref.valid()) {
      s.recv_lock.unlock();
      return copied > 0 ? static_cast<ssize_t>(copied) : -EBADF;
    }
    // Flags before the FIFO: the service publishes the bytes before kRdEof, so an
    // EOF seen here means the FIFO read next holds everything that came before it.
    const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
    const uint64_t avail = rx_available(s);
    if (avail > 0 && copied < static_cast<size_t>(total)) {
      ipc::FifoIndices& rx = s.shared().rx;
      const uint64_t head = rx.head.load(std::memory_order_relaxed);
      const size_t want = static_cast<size_t>(total) - copied;
      const size_t n = avail < want ? static_cast<size_t>(avail) : want;
      if (!discard) copy_out_of_fifo(s.rx_fifo, size, head, n, to);
      if (!peek) rx.head.store(head + n, std::memory_order_release);
      s.recv_lock.unlock();
      if (!peek) svc.kick(s.index);
      copied += n;
      if (!wait_all || copied == static_cast<size_t>(total)) return static_cast<ssize_t>(copied);
      continue;
    }
    s.recv_lock.unlock();
    if (total == 0) return 0;
    const ssize_t outcome = empty_rx_outcome(s, f);
    if (outcome <= 0) return copied > 0 ? static_cast<ssize_t>(copied) : outcome;
    if (nonblocking) return copied > 0 ? static_cast<ssize_t>(copied) : -EAGAIN;
    const int w = wait_until(ref, deadline, [&s] {
      return (socket_events(s) & (POLLIN | POLLERR | POLLHUP)) != 0 || s.shut_rd.load(std::memory_order_relaxed);
    });
    if (w < 0) return copied > 0 ? static_cast<ssize_t>(copied) : w;
  }
}

ssize_t joyride_send(const SocketRef& ref, const iovec* iov, int iov_count, int flags) {
  if (ref.socket->datagram.load(std::memory_order_relaxed)) return datagram_send(ref, iov, iov_count, flags, nullptr, 0);
  const ssize_t total = total_length(iov, iov_count);
  if (total < 0) return total;
  if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;  // urgent data is not carried
  AppSocket& s = *ref.socket;
  Service& svc = service();
  const uint64_t size = svc.geometry().fifo_bytes;
  const bool nonblocking = (flags & MSG_DONTWAIT) != 0 || s.nonblocking.load(std::memory_order_relaxed);
  const Deadline deadline(s.send_timeout_ns.load(std::memory_order_relaxed));
  IovCursor from(iov, iov_count);
  size_t sent = 0;
  auto partial_or = [&sent](ssize_t error) { return sent > 0 ? static_cast<ssize_t>(sent) : error; };
  for (;;) {
    const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
    if ((f & ipc::kError) != 0) {
      if (const int e = take_socket_error(s); e != 0) return partial_or(-e);
    }
    if ((f & ipc::kWrClosed) != 0 || s.shut_wr.load()) return partial_or(broken_pipe(flags));
    if ((f & ipc::kConnected) == 0) {
      // Linux (sk_stream_wait_connect): a connect under way makes send wait; a
      // socket that is not connecting at all is a broken pipe.
      if (s.connect() != ConnectState::kConnecting) return partial_or(broken_pipe(flags));
      if ((f & ipc::kRefused) != 0) return partial_or(-failed_connect_error(s));
    } else {
      s.send_lock.lock();
      if (!ref.valid()) {
        s.send_lock.unlock();
        return partial_or(-EBADF);
      }
      const uint64_t space = tx_space(s);
      if (space > 0 && sent < static_cast<size_t>(total)) {
        ipc::FifoIndices& tx = s.shared().tx;
        const uint64_t tail = tx.tail.load(std::memory_order_relaxed);
        const size_t want = static_cast<size_t>(total) - sent;
        const size_t n = space < want ? static_cast<size_t>(space) : want;
        copy_into_fifo(s.tx_fifo, size, tail, n, from);
        tx.tail.store(tail + n, std::memory_order_release);
        s.send_lock.unlock();
        svc.kick(s.index);
        sent += n;
        if (sent == static_cast<size_t>(total)) return static_cast<ssize_t>(sent);
        continue;
      }
      s.send_lock.unlock();
      if (total == 0) return 0;
    }
    if (nonblocking) return partial_or(-EAGAIN);
    const int w = wait_until(ref, deadline, [&s] {
      const uint32_t g = s.shared().flags.load(std::memory_order_acquire);
      if ((g & (ipc::kError | ipc::kWrClosed | ipc::kRefused)) != 0 || s.shut_wr.load(std::memory_order_relaxed)) return true;
      return (g & ipc::kConnected) != 0 && tx_space(s) > 0;
    });
    if (w < 0) return partial_or(w);
  }
}

// ---- one contiguous buffer: send()/write()/recv()/read() ---------------------------
// The common case in two or three dozen instructions: connected, no error, and room
// in the FIFO (send) or bytes in it (recv). Anything else (an error to report, a
// flag, a full or empty FIFO, a socket closed under us) goes to the general path,
// which decides exactly as before.

ssize_t joyride_send_one(const SocketRef& ref, const void* buf, size_t len, int flags) {
  AppSocket& s = *ref.socket;
  if ((flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT)) == 0 && len != 0 && !s.datagram.load(std::memory_order_relaxed)) {
    const uint32_t f = s.shared_state->flags.load(std::memory_order_acquire);
    if ((f & (ipc::kConnected | ipc::kError | ipc::kWrClosed)) == ipc::kConnected &&
        !s.shut_wr.load(std::memory_order_relaxed)) {
      s.send_lock.lock();
      const uint64_t space = ref.valid() ? tx_space(s) : 0;
      if (space != 0) {
        ipc::FifoIndices& tx = s.shared_state->tx;
        const uint64_t tail = tx.tail.load(std::memory_order_relaxed);
        const size_t n = space < len ? static_cast<size_t>(space) : len;
        const size_t at = static_cast<size_t>(tail % s.fifo_bytes);
        const size_t first = n < s.fifo_bytes - at ? n : static_cast<size_t>(s.fifo_bytes - at);
        std::memcpy(s.tx_fifo + at, buf, first);
        if (n > first) std::memcpy(s.tx_fifo, static_cast<const uint8_t*>(buf) + first, n - first);
        tx.tail.store(tail + n, std::memory_order_release);
        s.send_lock.unlock();
        service().kick(s.index);
        if (n == len || (flags & MSG_DONTWAIT) != 0 || s.nonblocking.load(std::memory_order_relaxed))
          return static_cast<ssize_t>(n);
        // A blocking send of more than fits: the rest as the general path sends it
        // (Linux returns the partial count if that is interrupted or fails).
        const iovec rest{const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)) + n, len - n};
        const ssize_t more = joyride_send(ref, &rest, 1, flags);
        return more < 0 ? static_cast<ssize_t>(n) : static_cast<ssize_t>(n) + more;
      }
      s.send_lock.unlock();
    }
  }
  const iovec v{const_cast<void*>(buf), len};
  return joyride_send(ref, &v, 1, flags);
}

ssize_t joyride_recv_one(const SocketRef& ref, void* buf, size_t len, int flags) {
  AppSocket& s = *ref.socket;
  if ((flags & ~MSG_DONTWAIT) == 0 && len != 0 && !s.datagram.load(std::memory_order_relaxed)) {
    s.recv_lock.lock();
    const uint64_t avail = ref.valid() ? rx_available(s) : 0;
    if (avail != 0) {
      ipc::FifoIndices& rx = s.shared_state->rx;
      const uint64_t head = rx.head.load(std::memory_order_relaxed);
      const size_t n = avail < len ? static_cast<size_t>(avail) : len;
      const size_t at = static_cast<size_t>(head % s.fifo_bytes);
      const size_t first = n < s.fifo_bytes - at ? n : static_cast<size_t>(s.fifo_bytes - at);
      std::memcpy(buf, s.rx_fifo + at, first);
      if (n > first) std::memcpy(static_cast<uint8_t*>(buf) + first, s.rx_fifo, n - first);
      rx.head.store(head + n, std::memory_order_release);
      s.recv_lock.unlock();
      service().kick(s.index);
      return static_cast<ssize_t>(n);
    }
    s.recv_lock.unlock();
  }
  const iovec v{buf, len};
  return joyride_recv(ref, &v, 1, flags);
}

}  // namespace joyride::preload
