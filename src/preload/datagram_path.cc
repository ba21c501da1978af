#include "datagram_path.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "addresses.h"
#include "blocking.h"
#include "control_call.h"
#include "service.h"

namespace joyride::preload {
namespace {

constexpr uint64_t kMaxRecord = ipc::datagram_record_bytes(ipc::kMaxDatagram);

// Sum of the lengths, or -EINVAL as Linux's import_iovec.
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

void gather(uint8_t* to, const iovec* iov, int count) {
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;  // its base may be null: memcpy must not see it
    std::memcpy(to, iov[i].iov_base, iov[i].iov_len);
    to += iov[i].iov_len;
  }
}

// Copies up to n bytes into the iovecs (a record never wraps, so one source run).
void scatter(const uint8_t* from, size_t n, const iovec* iov, int count) {
  for (int i = 0; i < count && n > 0; ++i) {
    const size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
    if (k == 0) continue;
    std::memcpy(iov[i].iov_base, from, k);
    from += k;
    n -= k;
  }
}

ssize_t broken_pipe(int flags) {
  // SIGPIPE to the calling thread, as Linux's send_sig(SIGPIPE, current).
  if ((flags & MSG_NOSIGNAL) == 0)
    ::syscall(SYS_tgkill, ::getpid(), static_cast<pid_t>(::syscall(SYS_gettid)), SIGPIPE);
  return -EPIPE;
}

// The destination of a sendto/sendmsg as Linux's udp_sendmsg checks it; family 0
// (the connected peer) when there is none.
int destination(const sockaddr* to, socklen_t to_len, ipc::WireAddress& out) {
  out = ipc::WireAddress{};
  if (to == nullptr) return 0;
  if (to_len < sizeof(sockaddr_in)) return -EINVAL;
  sockaddr_in a;
  std::memcpy(&a, to, sizeof a);
  if (a.sin_family != AF_INET) return -EAFNOSUPPORT;
  if (a.sin_port == 0) return -EINVAL;
  out = to_wire(a);
  return 0;
}

// Writes one record at the producer's position; false when it does not fit.
bool put_record(AppSocket& s, const ipc::WireAddress& to, const iovec* iov, int count, size_t length) {
  ipc::FifoIndices& tx = s.shared().tx;
  const uint64_t size = s.fifo_bytes;
  const uint64_t tail = tx.tail.load(std::memory_order_relaxed);
  const uint64_t record = ipc::datagram_record_bytes(length);
  const uint64_t at = ipc::datagram_place(tx.head.load(std::memory_order_acquire), tail, size, record);
  if (at == ipc::kNoRoom) return false;
  if (at != tail && size - tail % size >= sizeof(ipc::DatagramHeader)) {
    const ipc::DatagramHeader skip{ipc::kDatagramSkip, 0, {}};
    std::memcpy(s.tx_fifo + tail % size, &skip, sizeof skip);
  }
  const ipc::DatagramHeader h{static_cast<uint32_t>(length), 0, to};
  uint8_t* place = s.tx_fifo + at % size;
  std::memcpy(place, &h, sizeof h);
  gather(place + sizeof h, iov, count);
  tx.tail.store(at + record, std::memory_order_release);
  return true;
}

// The next rx record from `head`: its position (after any skip) and header, or
// false when none is published (or what is there makes no sense).
bool next_record(const AppSocket& s, uint64_t head, uint64_t tail, uint64_t& pos, ipc::DatagramHeader& h) {
  const uint64_t size = s.fifo_bytes;
  pos = head;
  for (int lap = 0; lap < 2 && pos < tail; ++lap) {
    const uint64_t to_end = size - pos % size;
    if (to_end >= sizeof h) {
      std::memcpy(&h, s.rx_fifo + pos % size, sizeof h);
      if (h.length != ipc::kDatagramSkip) {
        return h.length <= ipc::kMaxDatagram && ipc::datagram_record_bytes(h.length) <= to_end &&
               pos + ipc::datagram_record_bytes(h.length) <= tail;
      }
    }
    pos += to_end;
  }
  return false;
}

bool record_fits(const AppSocket& s) {
  const ipc::FifoIndices& tx = s.shared().tx;
  return ipc::datagram_place(tx.head.load(std::memory_order_acquire), tx.tail.load(std::memory_order_relaxed),
                             s.fifo_bytes, kMaxRecord) != ipc::kNoRoom;
}

}  // namespace

ssize_t datagram_send(const SocketRef& ref, const iovec* iov, int iov_count, int flags, const sockaddr* to,
                      socklen_t to_len) {
  const ssize_t total = total_length(iov, iov_count);
  if (total < 0) return total;
  if ((flags & MSG_OOB) != 0) return -EOPNOTSUPP;
  if (static_cast<size_t>(total) > ipc::kMaxDatagram) return -EMSGSIZE;
  ipc::WireAddress dest;
  if (const int d = destination(to, to_len, dest); d < 0) return d;
  AppSocket& s = *ref.socket;
  const bool nonblocking = (flags & MSG_DONTWAIT) != 0 || s.nonblocking.load(std::memory_order_relaxed);
  const Deadline deadline(s.send_timeout_ns.load(std::memory_order_relaxed));
  for (;;) {
    const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
    if ((f & ipc::kError) != 0) {
      if (const int e = take_socket_error(s); e != 0) return -e;
    }
    if ((f & ipc::kWrClosed) != 0 || s.shut_wr.load(std::memory_order_relaxed)) return broken_pipe(flags);
    if (dest.family == 0 && (f & ipc::kConnected) == 0) return -EDESTADDRREQ;
    s.send_lock.lock();
    if (!ref.valid()) {
      s.send_lock.unlock();
      return -EBADF;
    }
    const bool put = put_record(s, dest, iov, iov_count, static_cast<size_t>(total));
    s.send_lock.unlock();
    if (put) {
      service().kick(s.index);
      return total;
    }
    if (nonblocking) return -EAGAIN;
    // The length of this datagram's record, not the largest, decides when to go on.
    const uint64_t record = ipc::datagram_record_bytes(static_cast<uint64_t>(total));
    const int w = wait_until(ref, deadline, [&s, record] {
      const uint32_t g = s.shared().flags.load(std::memory_order_acquire);
      if ((g & (ipc::kError | ipc::kWrClosed)) != 0 || s.shut_wr.load(std::memory_order_relaxed)) return true;
      const ipc::FifoIndices& tx = s.shared().tx;
      return ipc::datagram_place(tx.head.load(std::memory_order_acquire), tx.tail.load(std::memory_order_relaxed),
                                 s.fifo_bytes, record) != ipc::kNoRoom;
    });
    if (w < 0) return w;
  }
}

ssize_t datagram_recv(const SocketRef& ref, const iovec* iov, int iov_count, int flags, sockaddr* from,
                      socklen_t* from_len, int* msg_flags) {
  const ssize_t total = total_length(iov, iov_count);
  if (total < 0) return total;
  if ((flags & MSG_OOB) != 0) return -EINVAL;
  AppSocket& s = *ref.socket;
  const bool peek = (flags & MSG_PEEK) != 0;
  const bool nonblocking = (flags & MSG_DONTWAIT) != 0 || s.nonblocking.load(std::memory_order_relaxed);
  const Deadline deadline(s.recv_timeout_ns.load(std::memory_order_relaxed));
  for (;;) {
    const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
    // Linux's __skb_recv_udp reports a pending error before any queued datagram.
    if ((f & ipc::kError) != 0) {
      if (const int e = take_socket_error(s); e != 0) return -e;
    }
    s.recv_lock.lock();
    if (!ref.valid()) {
      s.recv_lock.unlock();
      return -EBADF;
    }
    ipc::FifoIndices& rx = s.shared().rx;
    const uint64_t head = rx.head.load(std::memory_order_relaxed);
    const uint64_t tail = rx.tail.load(std::memory_order_acquire);
    uint64_t pos = 0;
    ipc::DatagramHeader h{};
    if (head != tail) {
      if (!next_record(s, head, tail, pos, h)) {
        // Not a record stream: nothing in it can be trusted to be a datagram.
        rx.head.store(tail, std::memory_order_release);
        s.recv_lock.unlock();
        service().kick(s.index);
        return -EIO;
      }
      const size_t n = h.length < static_cast<size_t>(total) ? h.length : static_cast<size_t>(total);
      scatter(s.rx_fifo + pos % s.fifo_bytes + sizeof h, n, iov, iov_count);
      if (!peek) rx.head.store(pos + ipc::datagram_record_bytes(h.length), std::memory_order_release);
      s.recv_lock.unlock();
      if (!peek) service().kick(s.index);
      if (from != nullptr) (void)copy_address_out(from_wire(h.addr), from, from_len);
      if (msg_flags != nullptr) *msg_flags = h.length > n ? MSG_TRUNC : 0;
      return (flags & MSG_TRUNC) != 0 ? static_cast<ssize_t>(h.length) : static_cast<ssize_t>(n);
    }
    s.recv_lock.unlock();
    if ((f & ipc::kRdEof) != 0 || s.shut_rd.load(std::memory_order_relaxed)) return 0;
    if (nonblocking) return -EAGAIN;
    const int w = wait_until(ref, deadline, [&s] {
      return (datagram_events(s) & (POLLIN | POLLERR)) != 0 || s.shut_rd.load(std::memory_order_relaxed);
    });
    if (w < 0) return w;
  }
}

int datagram_next_size(const AppSocket& s) {
  const ipc::FifoIndices& rx = s.shared().rx;
  uint64_t pos = 0;
  ipc::DatagramHeader h{};
  const uint64_t head = rx.head.load(std::memory_order_relaxed);
  const uint64_t tail = rx.tail.load(std::memory_order_acquire);
  return next_record(s, head, tail, pos, h) ? static_cast<int>(h.length) : 0;
}

uint32_t datagram_events(const AppSocket& s) {
  const uint32_t f = s.shared().flags.load(std::memory_order_acquire);
  uint32_t ev = 0;
  // As Linux's udp_poll: readable with a datagram queued, an error, or shut for
  // reading; writable while a datagram of any size would be taken.
  if (rx_available(s) > 0 || (f & (ipc::kError | ipc::kRdEof)) != 0) ev |= POLLIN | POLLRDNORM;
  if (record_fits(s) || (f & ipc::kError) != 0) ev |= POLLOUT | POLLWRNORM;
  if ((f & ipc::kError) != 0) ev |= POLLERR;
  if ((f & ipc::kRdEof) != 0) ev |= POLLRDHUP;
  if ((f & ipc::kHangup) != 0 || ((f & ipc::kRdEof) != 0 && (f & ipc::kWrClosed) != 0)) ev |= POLLHUP;
  return ev;
}

}  // namespace joyride::preload
