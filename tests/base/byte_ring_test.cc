// ByteRing: a seeded random sequence of every operation checked against a std::deque
// model, starting from every head position of small odd capacities (so every wrap
// point is crossed); then the zero-copy spans, migrate() and the zero-capacity ring.
#include "joyride/base/byte_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <numeric>
#include <vector>

#include "joyride/base/random.h"

namespace joyride::base {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes iota_bytes(size_t n, uint8_t start) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), start);
  return b;
}

Bytes joined(const std::array<std::span<const uint8_t>, 2>& spans) {
  Bytes out(spans[0].begin(), spans[0].end());
  out.insert(out.end(), spans[1].begin(), spans[1].end());
  return out;
}

// Checks every observable of the ring against the model.
void expect_matches(const ByteRing& ring, const std::deque<uint8_t>& model) {
  ASSERT_EQ(ring.size(), model.size());
  EXPECT_EQ(ring.free(), ring.capacity() - model.size());
  EXPECT_EQ(ring.empty(), model.empty());
  Bytes all(ring.capacity() + 2, 0xee);
  ASSERT_EQ(ring.peek(0, all), model.size());
  EXPECT_TRUE(std::equal(model.begin(), model.end(), all.begin()));
  EXPECT_EQ(all[model.size()], 0xee) << "peek wrote past the held bytes";
  EXPECT_EQ(joined(ring.readable(0, SIZE_MAX)), Bytes(model.begin(), model.end()));
}

class ByteRingModelTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ByteRingModelTest, RandomOpsMatchDequeFromEveryHeadPosition) {
  const size_t cap = GetParam();
  for (size_t start = 0; start < cap; ++start) {
    SCOPED_TRACE(testing::Message() << "capacity " << cap << " head starts at " << start);
    Bytes storage(cap);
    ByteRing ring(storage);
    std::deque<uint8_t> model;
    // Put the head at `start`: write start+1 bytes and consume all but the last
    // (consuming everything would send the head back to 0).
    Bytes pad(start + 1, 0x55);
    ASSERT_EQ(ring.write(pad), start + 1);
    ring.consume(start);
    model.push_back(0x55);
    SeededRandom rng(1000 * cap + start);
    uint8_t next = 0;
    for (int op = 0; op < 3000; ++op) {
      const uint32_t kind = rng.uniform(7);
      const size_t n = rng.uniform(static_cast<uint32_t>(cap + 3));
      if (kind == 0 || kind == 1) {  // write (twice as likely, to keep the ring busy)
        const Bytes data = iota_bytes(n, next);
        const size_t expect = std::min(n, cap - model.size());
        ASSERT_EQ(ring.write(data), expect);
        for (size_t i = 0; i < expect; ++i) model.push_back(data[i]);
        next = static_cast<uint8_t>(next + expect);
      } else if (kind == 2) {  // read
        Bytes out(n);
        const size_t expect = std::min(n, model.size());
        ASSERT_EQ(ring.read(out), expect);
        for (size_t i = 0; i < expect; ++i) {
          ASSERT_EQ(out[i], model.front());
          model.pop_front();
        }
      } else if (kind == 3) {  // peek at an offset
        const size_t offset = rng.uniform(static_cast<uint32_t>(cap + 2));
        Bytes out(n, 0xee);
        const size_t expect = offset >= model.size() ? 0 : std::min(n, model.size() - offset);
        ASSERT_EQ(ring.peek(offset, out), expect);
        for (size_t i = 0; i < expect; ++i) ASSERT_EQ(out[i], model[offset + i]);
        for (size_t i = expect; i < n; ++i) ASSERT_EQ(out[i], 0xee) << "peek wrote past its count";
      } else if (kind == 4) {  // consume
        const size_t k = std::min(n, model.size());
        ring.consume(k);
        model.erase(model.begin(), model.begin() + static_cast<ptrdiff_t>(k));
      } else if (kind == 5) {  // readable at an offset
        const size_t offset = rng.uniform(static_cast<uint32_t>(cap + 2));
        const auto spans = ring.readable(offset, n);
        const size_t expect = offset >= model.size() ? 0 : std::min(n, model.size() - offset);
        ASSERT_EQ(spans[0].size() + spans[1].size(), expect);
        if (spans[0].empty()) {
          ASSERT_TRUE(spans[1].empty()) << "second span without a first";
        }
        const Bytes got = joined(spans);
        for (size_t i = 0; i < expect; ++i) ASSERT_EQ(got[i], model[offset + i]);
      } else {  // writable + commit a part of it
        auto spans = ring.writable();
        ASSERT_EQ(spans[0].size() + spans[1].size(), cap - model.size());
        const size_t k = std::min(n, cap - model.size());
        for (size_t i = 0; i < k; ++i) {
          const uint8_t v = static_cast<uint8_t>(next + i);
          if (i < spans[0].size()) {
            spans[0][i] = v;
          } else {
            spans[1][i - spans[0].size()] = v;
          }
          model.push_back(v);
        }
        next = static_cast<uint8_t>(next + k);
        ring.commit(k);
      }
      ASSERT_NO_FATAL_FAILURE(expect_matches(ring, model)) << "after op " << op << " kind " << kind;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OddCapacities, ByteRingModelTest, ::testing::Values(1, 2, 7, 13));

TEST(ByteRingTest, WriteStopsWhenFullAndReadDrains) {
  Bytes storage(5);
  ByteRing ring(storage);
  EXPECT_EQ(ring.capacity(), 5u);
  EXPECT_EQ(ring.write(iota_bytes(3, 0)), 3u);
  EXPECT_EQ(ring.write(iota_bytes(4, 3)), 2u);
  EXPECT_EQ(ring.free(), 0u);
  EXPECT_EQ(ring.write(iota_bytes(1, 9)), 0u);
  Bytes out(8);
  EXPECT_EQ(ring.read(out), 5u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 5), iota_bytes(5, 0));
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.read(out), 0u);
}

TEST(ByteRingTest, ReadableSplitsAtTheWrapPoint) {
  Bytes storage(7);
  ByteRing ring(storage);
  ASSERT_EQ(ring.write(iota_bytes(5, 0)), 5u);
  ring.consume(4);  // head at 4, holds {4}
  ASSERT_EQ(ring.write(iota_bytes(5, 5)), 5u);  // holds 4..9, storage indices 4,5,6,0,1,2
  auto spans = ring.readable(0, 100);
  EXPECT_EQ(spans[0].data(), storage.data() + 4);
  EXPECT_EQ(Bytes(spans[0].begin(), spans[0].end()), iota_bytes(3, 4));
  EXPECT_EQ(spans[1].data(), storage.data());
  EXPECT_EQ(Bytes(spans[1].begin(), spans[1].end()), iota_bytes(3, 7));

  spans = ring.readable(1, 2);  // inside the first span only
  EXPECT_EQ(Bytes(spans[0].begin(), spans[0].end()), iota_bytes(2, 5));
  EXPECT_TRUE(spans[1].empty());

  spans = ring.readable(3, 2);  // entirely past the wrap: one span at storage[0]
  EXPECT_EQ(spans[0].data(), storage.data());
  EXPECT_EQ(Bytes(spans[0].begin(), spans[0].end()), iota_bytes(2, 7));
  EXPECT_TRUE(spans[1].empty());

  spans = ring.readable(6, 1);  // offset == size: nothing
  EXPECT_TRUE(spans[0].empty());
  EXPECT_TRUE(spans[1].empty());
}

TEST(ByteRingTest, WritableGivesTheFreeSpaceInOrderAndCommitHoldsIt) {
  Bytes storage(7);
  ByteRing ring(storage);
  ASSERT_EQ(ring.write(iota_bytes(6, 0)), 6u);
  ring.consume(3);  // head 3, size 3: free is storage[6] then storage[0..2]
  auto spans = ring.writable();
  EXPECT_EQ(spans[0].data(), storage.data() + 6);
  EXPECT_EQ(spans[0].size(), 1u);
  EXPECT_EQ(spans[1].data(), storage.data());
  EXPECT_EQ(spans[1].size(), 3u);
  spans[0][0] = 100;
  spans[1][0] = 101;
  spans[1][1] = 102;
  ring.commit(3);
  Bytes out(6);
  EXPECT_EQ(ring.peek(0, out), 6u);
  EXPECT_EQ(out, (Bytes{3, 4, 5, 100, 101, 102}));
  ring.commit(1);  // commits storage[2], whatever it holds
  EXPECT_EQ(ring.free(), 0u);
  spans = ring.writable();
  EXPECT_TRUE(spans[0].empty());
  EXPECT_TRUE(spans[1].empty());
}

TEST(ByteRingTest, EmptyingTheRingMakesTheFreeSpaceContiguous) {
  Bytes storage(7);
  ByteRing ring(storage);
  ASSERT_EQ(ring.write(iota_bytes(5, 0)), 5u);
  ring.consume(5);
  const auto spans = ring.writable();
  EXPECT_EQ(spans[0].data(), storage.data());
  EXPECT_EQ(spans[0].size(), 7u);
  EXPECT_TRUE(spans[1].empty());
}

TEST(ByteRingTest, MigrateWhileWrappedKeepsBytesInOrder) {
  Bytes small(7);
  ByteRing ring(small);
  ASSERT_EQ(ring.write(iota_bytes(7, 0)), 7u);
  ring.consume(5);
  ASSERT_EQ(ring.write(iota_bytes(4, 7)), 4u);  // holds 5..10, wrapped
  ASSERT_FALSE(ring.readable(0, 6)[1].empty());

  Bytes big(20, 0);
  const std::span<uint8_t> old = ring.migrate(big);
  EXPECT_EQ(old.data(), small.data());
  EXPECT_EQ(old.size(), small.size());
  EXPECT_EQ(ring.capacity(), 20u);
  EXPECT_EQ(ring.size(), 6u);
  EXPECT_EQ(ring.storage().data(), big.data());
  Bytes out(6);
  EXPECT_EQ(ring.peek(0, out), 6u);
  EXPECT_EQ(out, iota_bytes(6, 5));
  // Contents now start at the front of the new storage, and there is room to grow.
  EXPECT_EQ(ring.readable(0, 6)[0].data(), big.data());
  EXPECT_EQ(ring.write(iota_bytes(14, 11)), 14u);
  Bytes all(20);
  EXPECT_EQ(ring.read(all), 20u);
  EXPECT_EQ(all, iota_bytes(20, 5));
}

TEST(ByteRingTest, MigrateToExactlyTheHeldSize) {
  Bytes small(5);
  ByteRing ring(small);
  ASSERT_EQ(ring.write(iota_bytes(4, 0)), 4u);
  ring.consume(3);
  ASSERT_EQ(ring.write(iota_bytes(3, 4)), 3u);  // holds 3..6, wrapped
  Bytes exact(4);
  ring.migrate(exact);
  EXPECT_EQ(ring.free(), 0u);
  EXPECT_EQ(exact, iota_bytes(4, 3));
}

TEST(ByteRingTest, ZeroCapacityRingStoresNothing) {
  ByteRing ring;
  EXPECT_EQ(ring.capacity(), 0u);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.free(), 0u);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.write(iota_bytes(3, 0)), 0u);
  Bytes out(3);
  EXPECT_EQ(ring.read(out), 0u);
  EXPECT_EQ(ring.peek(0, out), 0u);
  ring.consume(0);
  ring.commit(0);
  const auto r = ring.readable(0, 10);
  EXPECT_TRUE(r[0].empty() && r[1].empty());
  const auto w = ring.writable();
  EXPECT_TRUE(w[0].empty() && w[1].empty());
  // A zero-capacity ring can still be given storage later.
  Bytes storage(4);
  EXPECT_TRUE(ring.migrate(storage).empty());
  EXPECT_EQ(ring.write(iota_bytes(5, 0)), 4u);
}

TEST(ByteRingTest, ClearKeepsStorage) {
  Bytes storage(7);
  ByteRing ring(storage);
  ASSERT_EQ(ring.write(iota_bytes(6, 0)), 6u);
  ring.consume(4);
  ring.clear();
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.capacity(), 7u);
  EXPECT_EQ(ring.write(iota_bytes(7, 0)), 7u);
}

TEST(ByteRingDeathTest, ConsumingOrCommittingTooMuchAsserts) {
  Bytes storage(4);
  ByteRing ring(storage);
  ASSERT_EQ(ring.write(iota_bytes(2, 0)), 2u);
  EXPECT_DEBUG_DEATH(ring.consume(3), "consume past");
  EXPECT_DEBUG_DEATH(ring.commit(3), "commit past");
  Bytes tiny(1);
  EXPECT_DEBUG_DEATH(ring.migrate(tiny), "smaller than the held bytes");
}

}  // namespace
}  // namespace joyride::base
