// The region's geometry and the app's check of a mapped region.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "joyride/ipc/region.h"

namespace joyride::ipc {
namespace {

TEST(RegionGeometry, PartsAreAlignedAndDisjoint) {
  RegionGeometry g;
  ASSERT_TRUE(compute_geometry(100, 16, 4096, 1 << 20, g));
  EXPECT_EQ(g.kick_words, 2u);
  for (uint64_t off : {g.calls_offset, g.kicks_offset, g.sockets_offset, g.fifos_offset}) EXPECT_EQ(off % kCacheLine, 0u);
  EXPECT_GE(g.calls_offset, sizeof(RegionHeader));
  EXPECT_GE(g.kicks_offset, g.calls_offset + 16 * sizeof(CallSlot));
  EXPECT_GE(g.sockets_offset, g.kicks_offset + 2 * sizeof(uint64_t));
  EXPECT_GE(g.fifos_offset, g.sockets_offset + 100 * sizeof(SocketShared));
  EXPECT_EQ(g.rx_fifo_offset(0), g.fifos_offset);
  EXPECT_EQ(g.tx_fifo_offset(0), g.fifos_offset + 4096);
  EXPECT_GE(g.buffers_offset, g.tx_fifo_offset(99) + 4096);
  EXPECT_EQ(g.buffers_offset % kFifoAlignment, 0u);
  EXPECT_EQ(g.buffer_bytes, 1u << 20);
  EXPECT_EQ(g.buffers_offset + g.buffer_bytes, g.region_bytes);
}

TEST(RegionGeometry, OutOfRangeNumbersAreRefused) {
  RegionGeometry g;
  EXPECT_FALSE(compute_geometry(0, 16, 4096, 1 << 20, g));
  EXPECT_FALSE(compute_geometry(kMaxSockets + 1, 16, 4096, 1 << 20, g));
  EXPECT_FALSE(compute_geometry(8, 0, 4096, 1 << 20, g));
  EXPECT_FALSE(compute_geometry(8, kMaxCallSlots + 1, 4096, 1 << 20, g));
  EXPECT_FALSE(compute_geometry(8, 16, 0, 1 << 20, g));
  EXPECT_FALSE(compute_geometry(8, 16, 4100, 1 << 20, g));  // not a multiple of the cache line
  EXPECT_FALSE(compute_geometry(8, 16, 4096, (1 << 20) + 100, g));  // buffers: not a multiple of a page
  EXPECT_FALSE(compute_geometry(8, 16, 4096, kMaxBufferBytes + 4096, g));
  EXPECT_TRUE(compute_geometry(kMaxSockets, kMaxCallSlots, 64, 1 << 20, g));
}

class RegionHeaderCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(compute_geometry(4, 4, 4096, 1 << 20, g));
    bytes.assign(g.region_bytes, 0);
    init_header(bytes.data(), g, 7);
  }
  RegionHeader& header() { return *reinterpret_cast<RegionHeader*>(bytes.data()); }
  bool check(size_t mapped, const char** why) {
    RegionGeometry out;
    return check_header(bytes.data(), mapped, out, why);
  }
  RegionGeometry g;
  alignas(64) std::vector<uint8_t> bytes;
};

TEST_F(RegionHeaderCheck, AFreshRegionPasses) {
  RegionGeometry out;
  const char* why = nullptr;
  ASSERT_TRUE(check_header(bytes.data(), bytes.size(), out, &why)) << why;
  EXPECT_EQ(out.fifos_offset, g.fifos_offset);
  EXPECT_EQ(header().app_id, 7u);
}

TEST_F(RegionHeaderCheck, EachInconsistencyIsNamed) {
  const char* why = nullptr;
  EXPECT_FALSE(check(sizeof(RegionHeader) - 1, &why));
  EXPECT_STREQ(why, "region smaller than its header");
  EXPECT_FALSE(check(bytes.size() - 1, &why));
  EXPECT_STREQ(why, "region larger than the mapping");
  header().sockets_offset += 64;
  EXPECT_FALSE(check(bytes.size(), &why));
  EXPECT_STREQ(why, "offsets do not match the geometry");
  header().sockets_offset -= 64;
  header().fifo_bytes = 100;
  EXPECT_FALSE(check(bytes.size(), &why));
  EXPECT_STREQ(why, "geometry out of range");
  header().fifo_bytes = 4096;
  header().version = kRegionVersion + 1;
  EXPECT_FALSE(check(bytes.size(), &why));
  EXPECT_STREQ(why, "region version differs from the preload's (upgrade both)");
  header().version = kRegionVersion;
  header().magic = 0;
  EXPECT_FALSE(check(bytes.size(), &why));
  EXPECT_STREQ(why, "bad magic (not a Joyride region)");
}

}  // namespace
}  // namespace joyride::ipc
