// PcapWriter byte layout, and SimNetwork::capture() end to end (read back byte by
// byte, and by tshark when it is installed).
#include "joyride/dev/pcap_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "dev/sim_test_nodes.h"
#include "joyride/dev/sim_network.h"

namespace joyride::dev::sim {
namespace {

using base::Duration;
using base::Instant;

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::vector<uint8_t> global_header(uint32_t snaplen) {
  std::vector<uint8_t> h = {0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0};
  put_le32(h, 0);
  put_le32(h, 0);
  put_le32(h, snaplen);
  put_le32(h, 1);
  return h;
}

void put_record(std::vector<uint8_t>& out, uint32_t sec, uint32_t nsec, const std::vector<uint8_t>& frame,
                size_t incl) {
  put_le32(out, sec);
  put_le32(out, nsec);
  put_le32(out, static_cast<uint32_t>(incl));
  put_le32(out, static_cast<uint32_t>(frame.size()));
  out.insert(out.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(incl));
}

TEST(PcapWriterTest, GlobalHeaderAndRecordsAreByteExact) {
  const std::string path = temp_path("pcap_writer_exact.pcap");
  buf::HeapPacketPool pool(8);
  const std::vector<uint8_t> a = testing::bytes_of(testing::make_frame(pool, 1, 60));
  const std::vector<uint8_t> b = testing::bytes_of(testing::make_frame(pool, 2, 100));
  {
    PcapWriter w(path, 80);
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE(w.write(Instant::from_nanos(1'500'000'123), testing::make_frame(pool, 1, 60)));
    EXPECT_TRUE(w.write(Instant::from_nanos(2'000'000'000), std::span<const uint8_t>(b)));  // cut to 80
    EXPECT_EQ(w.records(), 2u);
  }
  std::vector<uint8_t> want = global_header(80);
  put_record(want, 1, 500'000'123, a, 60);
  put_record(want, 2, 0, b, 80);
  EXPECT_EQ(read_file(path), want);
}

TEST(PcapWriterTest, UnwritablePathIsReported) {
  PcapWriter w("/nonexistent-dir/x.pcap");
  EXPECT_FALSE(w.ok());
  EXPECT_FALSE(w.write(Instant::from_nanos(0), std::span<const uint8_t>()));
  EXPECT_EQ(w.records(), 0u);
}

// Generator → echo over a link with 1 s + 250 ns latency: two frames go out, two come back.
struct CapturedRun {
  std::string path;
  std::vector<uint8_t> f0, f1;
};

CapturedRun captured_run(const std::string& name) {
  CapturedRun run{temp_path(name), {}, {}};
  testing::GeneratorNode gen;
  testing::EchoNode echo;
  SimNetwork net;
  LinkParams p;
  p.latency = Duration::seconds(1) + Duration::nanos(250);
  const LinkId link = net.connect({net.add_node(gen), 0}, {net.add_node(echo), 0}, p);
  EXPECT_TRUE(net.capture(link, run.path));
  gen.plan(Instant::from_nanos(0), 1, 64);
  gen.plan(Instant::from_nanos(1000), 1, 1514);
  EXPECT_TRUE(net.run_until_idle(Instant::never()));
  net.stop_capture(link);
  run.f0 = gen.received.at(0).bytes;
  run.f1 = gen.received.at(1).bytes;
  return run;
}

TEST(PcapWriterTest, NetworkCaptureRecordsBothDirectionsAtTransmitTime) {
  const CapturedRun run = captured_run("sim_capture_exact.pcap");
  std::vector<uint8_t> want = global_header(PcapWriter::kDefaultSnaplen);
  put_record(want, 0, 0, run.f0, run.f0.size());            // a → b at 0
  put_record(want, 0, 1000, run.f1, run.f1.size());         // a → b at 1 us
  put_record(want, 1, 250, run.f0, run.f0.size());          // echoed b → a on arrival
  put_record(want, 1, 1250, run.f1, run.f1.size());
  EXPECT_EQ(read_file(run.path), want);
}

TEST(PcapWriterTest, TsharkReadsTheCapture) {
  const char* tshark = "/usr/bin/tshark";
  if (!std::filesystem::exists(tshark)) GTEST_SKIP() << "tshark is not installed";
  const CapturedRun run = captured_run("sim_capture_tshark.pcap");
  const std::string cmd = std::string(tshark) + " -r " + run.path +
                          " -T fields -e frame.time_epoch -e frame.len 2>/dev/null";
  std::FILE* out = ::popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string text;
  char chunk[256];
  while (std::fgets(chunk, sizeof chunk, out) != nullptr) text += chunk;
  const int status = ::pclose(out);
  EXPECT_EQ(status, 0) << text;
  EXPECT_EQ(text,
            "0.000000000\t64\n"
            "0.000001000\t1514\n"
            "1.000000250\t64\n"
            "1.000001250\t1514\n");
}

}  // namespace
}  // namespace joyride::dev::sim
