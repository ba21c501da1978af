// Small SimNodes for the simulator's own tests: a generator that sends planned
// frames (each carrying a sequence number), an echo node, a sink and a ticker.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "joyride/buf/heap_pool.h"
#include "joyride/dev/sim_node.h"

namespace joyride::dev::sim::testing {

// A frame of `len` bytes (len >= 18): a made-up Ethernet header with the local
// experimental EtherType 0x88b5, a 4-byte big-endian sequence number, then a
// pattern derived from seq.
inline buf::Packet make_frame(buf::PacketPool& pool, uint32_t seq, size_t len) {
  std::vector<uint8_t> bytes(len);
  const uint8_t header[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5};
  std::memcpy(bytes.data(), header, 14);
  bytes[14] = static_cast<uint8_t>(seq >> 24);
  bytes[15] = static_cast<uint8_t>(seq >> 16);
  bytes[16] = static_cast<uint8_t>(seq >> 8);
  bytes[17] = static_cast<uint8_t>(seq);
  for (size_t i = 18; i < len; ++i) bytes[i] = static_cast<uint8_t>(seq * 7 + i);
  buf::Packet p = pool.alloc(0);
  if (!p.empty() && !p.append_bytes(bytes, pool)) p.reset();
  return p;
}

inline std::vector<uint8_t> bytes_of(const buf::Packet& p) {
  std::vector<uint8_t> out(p.len());
  p.copy_out(0, out);
  return out;
}

inline uint32_t seq_of(const std::vector<uint8_t>& b) {
  return static_cast<uint32_t>(b[14]) << 24 | static_cast<uint32_t>(b[15]) << 16 |
         static_cast<uint32_t>(b[16]) << 8 | b[17];
}

struct Received {
  base::Instant at;
  uint32_t port;
  std::vector<uint8_t> bytes;
};

// Sends planned frames at their times; records what comes back.
class GeneratorNode final : public SimNode {
 public:
  explicit GeneratorNode(uint32_t pool_segments = 4096, bool keep_clones = false)
      : pool_(pool_segments, buf::HeapPacketPool::kDefaultSegmentCapacity, keep_clones ? pool_segments : 0),
        keep_clones_(keep_clones) {}
  ~GeneratorNode() override { sent_clones.clear(); }

  // Plan `count` frames of `len` bytes on `port`, the first at `start`, then every `gap`.
  void plan(base::Instant start, uint32_t count, size_t len, base::Duration gap = base::Duration::zero(),
            uint32_t port = 0) {
    for (uint32_t i = 0; i < count; ++i) plan_.push_back({start + gap * i, port, len, next_seq_++});
    std::stable_sort(plan_.begin(), plan_.end(), [](const Planned& a, const Planned& b) { return a.at < b.at; });
  }

  void receive(uint32_t port, buf::Packet frame, base::Instant now) override {
    received.push_back({now, port, bytes_of(frame)});
  }
  void poll(base::Instant now, TxFn& tx) override {
    while (!plan_.empty() && plan_.front().at <= now) {
      const Planned p = plan_.front();
      plan_.pop_front();
      buf::Packet frame = make_frame(pool_, p.seq, p.len);
      if (frame.empty()) {
        ++alloc_failures;
        continue;
      }
      if (keep_clones_) sent_clones.push_back(frame.clone(pool_));
      sent_at.push_back(now);
      tx(p.port, std::move(frame));
    }
  }
  base::Instant next_deadline() const override {
    return plan_.empty() ? base::Instant::never() : plan_.front().at;
  }

  buf::HeapPacketPool& pool() { return pool_; }

  std::vector<Received> received;
  std::vector<base::Instant> sent_at;
  std::vector<buf::Packet> sent_clones;
  uint64_t alloc_failures = 0;

 private:
  struct Planned {
    base::Instant at;
    uint32_t port;
    size_t len;
    uint32_t seq;
  };
  buf::HeapPacketPool pool_;
  bool keep_clones_;
  std::deque<Planned> plan_;
  uint32_t next_seq_ = 0;
};

// Sends every frame back out of the port it came in on, at the same instant.
class EchoNode final : public SimNode {
 public:
  void receive(uint32_t port, buf::Packet frame, base::Instant now) override {
    received_at.push_back(now);
    pending_.push_back({port, std::move(frame)});
    last_rx_ = now;
  }
  void poll(base::Instant, TxFn& tx) override {
    for (auto& [port, frame] : pending_) tx(port, std::move(frame));
    pending_.clear();
  }
  base::Instant next_deadline() const override {
    return pending_.empty() ? base::Instant::never() : last_rx_;
  }

  std::vector<base::Instant> received_at;

 private:
  std::vector<std::pair<uint32_t, buf::Packet>> pending_;
  base::Instant last_rx_;
};

// Records and drops everything.
class SinkNode final : public SimNode {
 public:
  void receive(uint32_t port, buf::Packet frame, base::Instant now) override {
    received.push_back({now, port, bytes_of(frame)});
  }
  void poll(base::Instant, TxFn&) override { ++polls; }
  base::Instant next_deadline() const override { return base::Instant::never(); }

  std::vector<Received> received;
  uint64_t polls = 0;
};

// Wants a poll every `period`, forever (a keepalive timer that never stops).
class TickerNode final : public SimNode {
 public:
  TickerNode(base::Instant first, base::Duration period) : next_(first), period_(period) {}
  void receive(uint32_t, buf::Packet, base::Instant) override {}
  void poll(base::Instant now, TxFn&) override {
    if (now >= next_) {
      ticks.push_back(now);
      next_ = next_ + period_;
    }
  }
  base::Instant next_deadline() const override { return next_; }

  std::vector<base::Instant> ticks;

 private:
  base::Instant next_;
  base::Duration period_;
};

}  // namespace joyride::dev::sim::testing
