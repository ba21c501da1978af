// The one EAL of the dpdk test process, as a gtest Environment (the EAL starts once
// per process and cannot restart), plus the ports the tests share.
//
// Every vdev the tests use is created at start-up:
//   net_ring0             single-port loopback (what is sent is received)
//   net_memif0/net_memif1 a memif server and client in this process, connected
//                         through /tmp/jr-test-<pid>.sock: a wire between two ports
//   net_pcap0             replays a pcap written before start-up, writes another
// A port can be opened once per process (closing releases it), so ports are opened on
// first use and kept until the end, each with its own MbufPool. If the EAL cannot
// start, the environment records a failure and every test fails on ok() (they run as
// root in CI: a missing EAL is a broken machine, not a reason to skip).
#pragma once

#include <gtest/gtest.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "joyride/dev/dpdk/eal.h"
#include "joyride/dev/dpdk/mbuf_pool.h"
#include "joyride/dev/dpdk/port.h"

namespace joyride::dev::dpdk::testing {

using Bytes = std::vector<uint8_t>;

// A classic libpcap file (LINKTYPE_ETHERNET), written and read back by the pcap tests.
inline void write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  u32(0xa1b2c3d4);  // microsecond timestamps, host byte order
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(1);
  uint32_t t = 0;
  for (const Bytes& b : frames) {
    u32(++t);
    u32(0);
    u32(static_cast<uint32_t>(b.size()));
    u32(static_cast<uint32_t>(b.size()));
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
}

inline std::vector<Bytes> read_pcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<Bytes> out;
  char header[24];
  if (!f.read(header, sizeof header)) return out;
  for (;;) {
    uint32_t rec[4];
    if (!f.read(reinterpret_cast<char*>(rec), sizeof rec)) break;
    Bytes b(rec[2]);
    if (!f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()))) break;
    out.push_back(std::move(b));
  }
  return out;
}

// Frame i of a test pattern: an Ethernet header (to `dst` from `src`, an experimental
// EtherType) then bytes that depend on i and the position, so any misplaced byte shows.
inline Bytes test_frame(size_t len, uint8_t tag, uint8_t dst_last = 0xff, uint8_t src_last = 0x01) {
  Bytes b(len);
  const uint8_t hdr[14] = {0x02, 0, 0, 0, 0, dst_last, 0x02, 0, 0, 0, 0, src_last, 0x88, 0xb5};
  for (size_t i = 0; i < len; ++i) b[i] = i < 14 ? hdr[i] : static_cast<uint8_t>(i * 7 + tag * 31 + (i >> 8));
  return b;
}

class DpdkEnv final : public ::testing::Environment {
 public:
  static constexpr const char* kLoopback = "net_ring0";
  static constexpr const char* kMemifServer = "net_memif0";
  static constexpr const char* kMemifClient = "net_memif1";
  static constexpr const char* kPcap = "net_pcap0";

  void SetUp() override {
    const std::string pid = std::to_string(getpid());
    memif_socket_ = "/tmp/jr-test-" + pid + ".sock";
    pcap_in_ = "/tmp/jr-test-" + pid + "-in.pcap";
    pcap_out_ = "/tmp/jr-test-" + pid + "-out.pcap";
    pcap_frames_ = {test_frame(60, 1), test_frame(342, 2), test_frame(1514, 3)};
    write_pcap(pcap_in_, pcap_frames_);

    EalConfig c;
    c.lcores = {0};
    c.memory_mb = 256;
    c.multi_process = true;  // memif will not probe without the EAL's IPC channel
    c.vdevs = {
        kLoopback,
        std::string(kMemifServer) + ",role=server,id=0,mac=02:00:00:00:00:01,socket=" + memif_socket_,
        std::string(kMemifClient) + ",role=client,id=0,mac=02:00:00:00:00:02,socket=" + memif_socket_,
        std::string(kPcap) + ",rx_pcap=" + pcap_in_ + ",tx_pcap=" + pcap_out_,
    };
    c.extra_args = {"--no-telemetry", "--log-level=lib.eal:warning"};
    // JR_DPDK_LOG=pmd.net.memif:debug (any --log-level value) to debug a PMD.
    if (const char* log = std::getenv("JR_DPDK_LOG")) c.extra_args.push_back(std::string("--log-level=") + log);
    auto eal = Eal::init(c);
    if (!eal.ok()) {
      error_ = eal.error().message();
      ADD_FAILURE() << "EAL did not start: " << error_;
      return;
    }
    eal_ = std::move(eal).value();
  }

  void TearDown() override {
    // A memif pair in one process shares its socket, and the client also tears down
    // on the EAL's interrupt thread when the server goes: closing the client while that
    // runs frees its regions twice ("EAL: Error: Invalid memory"). So: stop the server
    // (ENVIRONMENT.md: server first), wait until the client has seen it (link down),
    // give the interrupt thread time to finish (bounded yields, no sleep), then close.
    auto memif = [&](const char* name) -> Port* {
      auto it = ports_.find(name);
      return it == ports_.end() ? nullptr : it->second.port.get();
    };
    if (Port* server = memif(kMemifServer)) {
      server->stop();
      if (Port* client = memif(kMemifClient)) {
        for (int i = 0; i < 1'000'000 && client->link().up; ++i) std::this_thread::yield();
        for (int i = 0; i < 200'000; ++i) std::this_thread::yield();
      }
    }
    for (const char* name : {kMemifServer, kMemifClient, kLoopback, kPcap}) {
      if (auto it = ports_.find(name); it != ports_.end()) it->second.port.reset();
    }
    ports_.clear();  // pools after their ports
    eal_.reset();
    std::remove(pcap_in_.c_str());
    std::remove(pcap_out_.c_str());
    std::remove(memif_socket_.c_str());
  }

  bool ok() const { return eal_ != nullptr; }
  const std::string& error() const { return error_; }

  // The port `name`, opened on first use with its own pool; nullptr (and a test
  // failure) when it cannot be opened.
  Port* port(const char* name) {
    if (!ok()) return nullptr;
    if (auto it = ports_.find(name); it != ports_.end()) return it->second.port.get();
    Opened o;
    MbufPoolConfig pc;
    pc.name = std::string("jr_") + name;
    pc.mbufs = 8191;
    auto pool = MbufPool::create(pc);
    if (!pool.ok()) {
      ADD_FAILURE() << "pool for " << name << ": " << pool.error().message();
      return nullptr;
    }
    o.pool = std::move(pool).value();
    PortConfig cfg;
    cfg.device = name;
    auto port = Port::open(cfg, *o.pool);
    if (!port.ok()) {
      ADD_FAILURE() << "port " << name << ": " << port.error().message();
      return nullptr;
    }
    o.port = std::move(port).value();
    Port* p = o.port.get();
    ports_.emplace(name, std::move(o));
    return p;
  }
  MbufPool& pool_of(const char* name) { return *ports_.at(name).pool; }

  const std::vector<Bytes>& pcap_frames() const { return pcap_frames_; }
  const std::string& pcap_out() const { return pcap_out_; }

 private:
  struct Opened {
    std::unique_ptr<MbufPool> pool;  // declared first: destroyed after the port
    std::unique_ptr<Port> port;
  };
  std::unique_ptr<Eal> eal_;
  std::string error_;
  std::string memif_socket_, pcap_in_, pcap_out_;
  std::vector<Bytes> pcap_frames_;
  std::map<std::string, Opened> ports_;
};

inline DpdkEnv& dpdk_env() {
  static DpdkEnv* env = static_cast<DpdkEnv*>(::testing::AddGlobalTestEnvironment(new DpdkEnv));
  return *env;
}

// Every mbuf of `pool` is back in its mempool (caches included).
inline bool pool_full(MbufPool& pool) {
  return rte_mempool_avail_count(pool.mempool()) == pool.mempool()->size;
}

// A Packet holding `bytes`, built from `pool` (chained when longer than a segment).
inline buf::Packet packet_of(buf::PacketPool& pool, const Bytes& bytes, uint32_t headroom = 128) {
  buf::Packet p = pool.alloc(headroom);
  if (p.empty() || !p.append_bytes(bytes, pool)) return buf::Packet();
  return p;
}

inline Bytes bytes_of(const buf::Packet& p) {
  Bytes b(p.len());
  EXPECT_TRUE(p.copy_out(0, b));
  return b;
}

// Receives until `want` frames arrived or `tries` bursts came back empty.
inline std::vector<buf::Packet> receive(Port& port, size_t want, int tries = 1000) {
  std::vector<buf::Packet> got;
  std::vector<buf::Packet> burst(32);
  for (int empty = 0; got.size() < want && empty < tries;) {
    const size_t n = port.rx_burst(0, burst);
    if (n == 0) {
      ++empty;
      continue;
    }
    for (size_t i = 0; i < n; ++i) got.push_back(std::move(burst[i]));
  }
  return got;
}

// Waits (no sleeping; a bounded number of yields) for the memif pair to connect: the
// handshake runs on the EAL's interrupt thread.
inline bool wait_link_up(Port& a, Port& b) {
  for (int i = 0; i < 20'000'000; ++i) {
    if (a.link().up && b.link().up) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace joyride::dev::dpdk::testing
