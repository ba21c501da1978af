#include "fd_table.h"

#include "service.h"

namespace joyride::preload {

namespace fd_table_detail {
std::atomic<Chunk*> g_chunks[kChunks];
}  // namespace fd_table_detail

using namespace fd_table_detail;

namespace {

Entry* entry_for(int fd, bool create) {
  if (fd < 0) return nullptr;
  const uint32_t c = static_cast<uint32_t>(fd) >> kChunkBits;
  if (c >= kChunks) return nullptr;
  Chunk* chunk = g_chunks[c].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    if (!create) return nullptr;
    Chunk* fresh = new Chunk;
    if (g_chunks[c].compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
      chunk = fresh;
    } else {
      delete fresh;  // another thread won; `chunk` holds its table
    }
  }
  return &chunk->entries[static_cast<uint32_t>(fd) & (kChunkSize - 1)];
}

}  // namespace

FdInfo lookup_fd_slow(uint64_t w, const Entry& e) {
  FdInfo info;
  switch (static_cast<FdKind>(w & kKindMask)) {
    case FdKind::kJoyride:
      info.socket.socket = app_socket_at(static_cast<uint32_t>((w >> kIndexShift) & kIndexMask));
      info.socket.incarnation = w >> kIncarnationShift;
      if (info.socket.socket != nullptr) info.kind = FdKind::kJoyride;
      break;
    case FdKind::kEpoll:
      info.epoll = e.epoll.load(std::memory_order_acquire);
      if (info.epoll != nullptr) info.kind = FdKind::kEpoll;
      break;
    case FdKind::kPrivate:
      info.kind = FdKind::kPrivate;
      break;
    default:
      break;
  }
  return info;
}

bool set_fd_joyride(int fd, const SocketRef& ref) {
  Entry* e = entry_for(fd, true);
  if (e == nullptr) return false;
  e->epoll.store(nullptr, std::memory_order_relaxed);
  e->word.store(static_cast<uint64_t>(FdKind::kJoyride) | (uint64_t{ref.socket->index} << kIndexShift) |
                    (ref.incarnation << kIncarnationShift),
                std::memory_order_release);
  return true;
}

void set_fd_epoll(int fd, EpollSet* set) {
  Entry* e = entry_for(fd, true);
  if (e == nullptr) return;
  e->epoll.store(set, std::memory_order_release);
  e->word.store(static_cast<uint64_t>(FdKind::kEpoll), std::memory_order_release);
}

void set_fd_private(int fd) {
  Entry* e = entry_for(fd, true);
  if (e == nullptr) return;
  e->epoll.store(nullptr, std::memory_order_relaxed);
  e->word.store(static_cast<uint64_t>(FdKind::kPrivate), std::memory_order_release);
}

unsigned known_fd_limit() {
  for (uint32_t c = kChunks; c > 0; --c)
    if (g_chunks[c - 1].load(std::memory_order_acquire) != nullptr) return c * kChunkSize;
  return 0;
}

void set_fd_kernel(int fd) {
  Entry* e = entry_for(fd, false);
  if (e == nullptr) return;
  e->word.store(0, std::memory_order_release);
  e->epoll.store(nullptr, std::memory_order_release);
}

}  // namespace joyride::preload
