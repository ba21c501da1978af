// Where socket buffer storage comes from.
//
// A ByteRing (byte_ring.h) never allocates; the host decides where socket buffers
// live. The simulator and tests use HeapBufferProvider; the service will provide one
// carved from an application's shared-memory region, whose size is that
// application's budget. Growing a buffer (auto-tuning) is allocate(bigger),
// ByteRing::migrate(), release(old); when the budget is spent allocate() says so with
// an empty span and the socket keeps the buffer it has.
//
// Allocation here happens on socket creation and buffer growth, never per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>

namespace joyride::base {

class BufferProvider {
 public:
  virtual ~BufferProvider() = default;
  // A span of exactly `bytes` bytes, or an empty span when the provider's budget is
  // spent (or bytes == 0).
  virtual std::span<uint8_t> allocate(size_t bytes) = 0;
  // Gives back a span from allocate() (the whole span). An empty span is ignored, so
  // the storage a default ByteRing returns from migrate() may be released blindly.
  virtual void release(std::span<uint8_t> storage) = 0;
};

// Heap-backed, with an optional budget on the total bytes outstanding (0 = no limit).
// Memory is zeroed so a bug that sends unwritten buffer bytes sends the same bytes on
// every run. Buffers still outstanding at destruction are freed; tests check
// outstanding_*() to find leaks.
class HeapBufferProvider final : public BufferProvider {
 public:
  explicit HeapBufferProvider(size_t budget_bytes = 0) : budget_(budget_bytes) {}
  ~HeapBufferProvider() override = default;
  HeapBufferProvider(const HeapBufferProvider&) = delete;
  HeapBufferProvider& operator=(const HeapBufferProvider&) = delete;

  std::span<uint8_t> allocate(size_t bytes) override;
  // Releasing a span this provider did not hand out (or only part of one) is a bug:
  // asserts in debug builds, ignored otherwise.
  void release(std::span<uint8_t> storage) override;

  size_t outstanding_bytes() const { return outstanding_bytes_; }
  size_t outstanding_buffers() const { return blocks_.size(); }
  // allocate() calls refused for the budget.
  uint64_t failures() const { return failures_; }
  size_t budget() const { return budget_; }

 private:
  struct Block {
    std::unique_ptr<uint8_t[]> bytes;
    size_t size = 0;
  };
  size_t budget_;
  size_t outstanding_bytes_ = 0;
  uint64_t failures_ = 0;
  std::unordered_map<const uint8_t*, Block> blocks_;
};

}  // namespace joyride::base
