#include "joyride/core/ipv4_reassembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "joyride/base/bytes.h"
#include "joyride/buf/heap_pool.h"
#include "joyride/wire/checksum.h"

namespace joyride::core {
namespace {

using base::Duration;
using base::Instant;
using C = ReassemblyCounter;

constexpr uint32_t kSegmentCapacity = 512;  // small, so a 1500-byte fragment is a chain of 3
constexpr size_t kMaxPayload = 65535 - wire::kIpv4HeaderLen;

// One datagram to cut into fragments: the header fields shared by its fragments, and
// its payload.
struct DatagramSpec {
  wire::Ipv4Repr header;
  std::vector<uint8_t> payload;
  uint16_t first_header_len = 20;  // > 20: the offset-0 fragment carries options
};

struct Fragment {
  wire::Ipv4Repr header;
  buf::Packet packet;
};

// [offset, offset + len) of a datagram's payload.
struct Range {
  uint16_t offset;
  uint16_t len;
  bool more;
};

DatagramSpec random_datagram(std::mt19937_64& rng, size_t payload_len, uint16_t ident) {
  DatagramSpec d;
  d.header.src = wire::Ipv4Address::from_octets(192, 0, 2, 1);
  d.header.dst = wire::Ipv4Address::from_octets(198, 51, 100, 7);
  d.header.protocol = wire::IpProtocol::kUdp;
  d.header.ttl = 63;
  d.header.ident = ident;
  d.payload.resize(payload_len);
  for (auto& b : d.payload) b = static_cast<uint8_t>(rng());
  return d;
}

// Cuts [0, total) into pieces of `size` bytes (a multiple of 8), the last shorter.
std::vector<Range> split(size_t total, size_t size) {
  std::vector<Range> out;
  for (size_t off = 0; off < total; off += size) {
    const size_t len = std::min(size, total - off);
    out.push_back({static_cast<uint16_t>(off), static_cast<uint16_t>(len), off + len < total});
  }
  return out;
}

// Parses the flat bytes like the IP layer would (checksum verified).
wire::Ipv4Repr parse_header(const std::vector<uint8_t>& bytes) {
  auto parsed = wire::Ipv4Repr::parse(bytes);
  EXPECT_TRUE(parsed.ok());
  return parsed.ok() ? *parsed : wire::Ipv4Repr{};
}

// The bytes of one fragment on the wire: header (with IHL options padded by NOPs when
// header_len > 20), payload slice, then `padding` bytes of link padding.
std::vector<uint8_t> fragment_bytes(const DatagramSpec& d, Range r, size_t padding) {
  wire::Ipv4Repr h = d.header;
  h.frag_offset = r.offset;
  h.more_fragments = r.more;
  h.payload_len = r.len;
  h.header_len = wire::kIpv4HeaderLen;
  const size_t header_len = r.offset == 0 ? d.first_header_len : wire::kIpv4HeaderLen;
  std::vector<uint8_t> bytes(header_len + r.len + padding, 0xee);
  h.emit(bytes);
  if (header_len > wire::kIpv4HeaderLen) {
    // Rewrite IHL and total length for the options (NOPs), then the checksum.
    std::fill(bytes.begin() + wire::kIpv4HeaderLen, bytes.begin() + header_len, 0x01);
    bytes[0] = static_cast<uint8_t>(0x40 | (header_len / 4));
    base::store_be<uint16_t>(bytes.data(), 2, static_cast<uint16_t>(header_len + r.len));
    base::store_be<uint16_t>(bytes.data(), 10, 0);
    base::store_be<uint16_t>(bytes.data(), 10,
                             wire::internet_checksum(std::span<const uint8_t>(bytes).first(header_len)));
  }
  std::copy_n(d.payload.begin() + r.offset, r.len, bytes.begin() + header_len);
  return bytes;
}

class RecordingListener : public ReassemblyTimeoutListener {
 public:
  struct Call {
    wire::Ipv4Repr header;
    std::vector<uint8_t> quoted;  // the first fragment's bytes as handed over
    Instant now;
  };
  void on_reassembly_timeout(const wire::Ipv4Repr& header, const buf::Packet& first_fragment,
                             Instant now) override {
    std::vector<uint8_t> bytes(first_fragment.len());
    EXPECT_TRUE(first_fragment.copy_out(0, bytes));
    calls.push_back({header, std::move(bytes), now});
  }
  std::vector<Call> calls;
};

class Ipv4ReassemblerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    reasm_.reset();
    EXPECT_EQ(wheel_.armed_count(), 0u);
    EXPECT_EQ(pool_.available_segments(), pool_.total_segments()) << "segments leaked";
  }

  Ipv4Reassembler& reasm() {
    if (!reasm_) reasm_ = std::make_unique<Ipv4Reassembler>(config_, wheel_, &listener_);
    return *reasm_;
  }

  Fragment make(const DatagramSpec& d, Range r, size_t padding = 0) {
    const std::vector<uint8_t> bytes = fragment_bytes(d, r, padding);
    Fragment f{parse_header(bytes), buf::Packet()};
    EXPECT_TRUE(f.packet.append_bytes(bytes, pool_));
    return f;
  }

  std::optional<ReassembledDatagram> feed(const DatagramSpec& d, Range r, size_t padding = 0) {
    Fragment f = make(d, r, padding);
    return reasm().input(f.header, std::move(f.packet), now_);
  }

  // Feeds `ranges` in order; every one but the last must leave the datagram incomplete.
  ReassembledDatagram feed_all(const DatagramSpec& d, const std::vector<Range>& ranges) {
    for (size_t i = 0; i + 1 < ranges.size(); ++i) {
      EXPECT_FALSE(feed(d, ranges[i]).has_value()) << "completed early at " << i;
    }
    auto out = feed(d, ranges.back());
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : ReassembledDatagram{};
  }

  void advance_to(Instant t) {
    now_ = t;
    wheel_.advance(now_);
  }

  static void expect_datagram(const ReassembledDatagram& out, const DatagramSpec& d) {
    EXPECT_EQ(out.header.src, d.header.src);
    EXPECT_EQ(out.header.dst, d.header.dst);
    EXPECT_EQ(out.header.protocol, d.header.protocol);
    EXPECT_EQ(out.header.ident, d.header.ident);
    EXPECT_EQ(out.header.ttl, d.header.ttl);
    EXPECT_EQ(out.header.header_len, d.first_header_len);
    EXPECT_FALSE(out.header.more_fragments);
    EXPECT_EQ(out.header.frag_offset, 0);
    EXPECT_FALSE(out.header.is_fragment());
    EXPECT_EQ(out.header.payload_len, d.payload.size());
    ASSERT_EQ(out.payload.len(), d.payload.size());
    std::vector<uint8_t> got(out.payload.len());
    ASSERT_TRUE(out.payload.copy_out(0, got));
    EXPECT_TRUE(got == d.payload) << "payload differs";
  }

  void expect_idle() {
    EXPECT_EQ(reasm().datagrams_in_progress(), 0u);
    EXPECT_EQ(reasm().bytes_held(), 0u);
    EXPECT_EQ(wheel_.armed_count(), 0u);
  }

  uint64_t count(C c) { return reasm().counters().get(c); }

  std::mt19937_64 rng_{12345};
  // Declared before the reassembler so it outlives every packet the reassembler holds.
  buf::HeapPacketPool pool_{16384, kSegmentCapacity};
  const Instant t0_ = Instant::from_nanos(5'000'000'000);
  Instant now_ = t0_;
  base::TimerWheel wheel_{t0_};
  RecordingListener listener_;
  ReassemblyConfig config_;
  std::unique_ptr<Ipv4Reassembler> reasm_;
};

TEST_F(Ipv4ReassemblerTest, InOrder) {
  const DatagramSpec d = random_datagram(rng_, 5000, 0x1234);
  {
    ReassembledDatagram out = feed_all(d, split(d.payload.size(), 1480));
    expect_datagram(out, d);
    EXPECT_GT(out.payload.segment_count(), 4u);  // chained, not copied into one buffer
  }
  EXPECT_EQ(count(C::kFragmentsReceived), 4u);
  EXPECT_EQ(count(C::kDatagramsReassembled), 1u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, ReverseOrder) {
  const DatagramSpec d = random_datagram(rng_, 7777, 7);
  auto ranges = split(d.payload.size(), 1480);
  std::reverse(ranges.begin(), ranges.end());
  {
    ReassembledDatagram out = feed_all(d, ranges);
    expect_datagram(out, d);
  }
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, RandomOrderWithExactDuplicates) {
  for (int round = 0; round < 50; ++round) {
    const size_t len = 9 + rng_() % 20000;
    const size_t piece = 8 * (1 + rng_() % 200);
    const DatagramSpec d = random_datagram(rng_, len, static_cast<uint16_t>(round));
    auto ranges = split(len, piece);
    std::shuffle(ranges.begin(), ranges.end(), rng_);
    uint64_t dups = 0;
    std::optional<ReassembledDatagram> out;
    for (size_t i = 0; i < ranges.size(); ++i) {
      out = feed(d, ranges[i]);
      if (i + 1 == ranges.size()) break;
      ASSERT_FALSE(out.has_value());
      if (rng_() % 3 == 0) {  // resend one already held: dropped alone
        ASSERT_FALSE(feed(d, ranges[rng_() % (i + 1)]).has_value());
        ++dups;
      }
    }
    ASSERT_TRUE(out.has_value());
    expect_datagram(*out, d);
    EXPECT_EQ(count(C::kDropDuplicate), dups);
    out.reset();
    reasm_.reset();  // fresh counters for the next round
    expect_idle();
    EXPECT_EQ(pool_.available_segments(), pool_.total_segments());
  }
}

TEST_F(Ipv4ReassemblerTest, LinkPaddingIsTrimmed) {
  const DatagramSpec d = random_datagram(rng_, 3000, 9);
  const auto ranges = split(d.payload.size(), 1000);
  EXPECT_FALSE(feed(d, ranges[2], /*padding=*/26).has_value());
  EXPECT_FALSE(feed(d, ranges[0], /*padding=*/600).has_value());
  auto out = feed(d, ranges[1], /*padding=*/3);
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, d);
}

TEST_F(Ipv4ReassemblerTest, MaximumDatagramInSegmentChains) {
  const DatagramSpec d = random_datagram(rng_, kMaxPayload, 0xffff);
  auto ranges = split(d.payload.size(), 1480);
  ASSERT_EQ(ranges.size(), 45u);
  std::shuffle(ranges.begin(), ranges.end(), rng_);
  {
    Fragment probe = make(d, ranges[0]);
    EXPECT_GT(probe.packet.segment_count(), 1u);  // each fragment is itself a chain
  }
  {
    ReassembledDatagram out = feed_all(d, ranges);
    expect_datagram(out, d);
    EXPECT_GE(out.payload.segment_count(), 44u * 3 + 1);
  }
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, FirstFragmentWithOptions) {
  DatagramSpec d = random_datagram(rng_, 4000, 11);
  d.first_header_len = 28;
  auto ranges = split(d.payload.size(), 1480);
  std::reverse(ranges.begin(), ranges.end());
  {
    ReassembledDatagram out = feed_all(d, ranges);
    expect_datagram(out, d);  // header_len 28, payload after the options
  }
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, NonFragmentPassesThrough) {
  const DatagramSpec d = random_datagram(rng_, 700, 3);
  auto out = feed(d, Range{0, 700, false}, /*padding=*/10);
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, d);
  EXPECT_EQ(count(C::kFragmentsReceived), 0u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, EmptyFinalFragmentFixesTheLength) {
  const DatagramSpec d = random_datagram(rng_, 2960, 4);
  EXPECT_FALSE(feed(d, Range{0, 1480, true}).has_value());
  EXPECT_FALSE(feed(d, Range{2960, 0, false}).has_value());
  EXPECT_FALSE(feed(d, Range{2960, 0, false}).has_value());  // again: a duplicate
  EXPECT_EQ(count(C::kDropDuplicate), 1u);
  auto out = feed(d, Range{1480, 1480, true});
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, d);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, KeyIncludesSourceDestinationProtocolIdent) {
  DatagramSpec a = random_datagram(rng_, 3000, 42);
  DatagramSpec b = random_datagram(rng_, 3000, 42);
  b.header.protocol = wire::IpProtocol::kTcp;
  DatagramSpec c = random_datagram(rng_, 3000, 42);
  c.header.src = wire::Ipv4Address::from_octets(192, 0, 2, 2);
  DatagramSpec e = random_datagram(rng_, 3000, 42);
  e.header.dst = wire::Ipv4Address::from_octets(198, 51, 100, 8);
  const auto ranges = split(3000, 1480);
  for (const DatagramSpec* d : {&a, &b, &c, &e}) EXPECT_FALSE(feed(*d, ranges[0]).has_value());
  EXPECT_EQ(reasm().datagrams_in_progress(), 4u);
  for (const DatagramSpec* d : {&a, &b, &c, &e}) {
    EXPECT_FALSE(feed(*d, ranges[1]).has_value());
    auto out = feed(*d, ranges[2]);
    ASSERT_TRUE(out.has_value());
    expect_datagram(*out, *d);
  }
  EXPECT_EQ(count(C::kDropOverlap), 0u);
  expect_idle();
}

// Each case: a held fragment, then one overlapping it differently.
struct OverlapCase {
  Range held;
  Range overlapping;
};

class OverlapTest : public Ipv4ReassemblerTest, public ::testing::WithParamInterface<OverlapCase> {};

TEST_P(OverlapTest, DiscardsTheDatagramThenARetransmissionReassembles) {
  DatagramSpec d = random_datagram(rng_, 6000, 100);
  const OverlapCase c = GetParam();
  EXPECT_FALSE(feed(d, Range{4000, 2000, false}).has_value());  // the tail, so ends agree
  EXPECT_FALSE(feed(d, c.held).has_value());
  EXPECT_FALSE(feed(d, c.overlapping).has_value());
  EXPECT_EQ(count(C::kDropOverlap), 1u);
  EXPECT_EQ(count(C::kDropDuplicate), 0u);
  expect_idle();
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments());

  // The sender retransmits the datagram under a new ident: it goes through.
  d.header.ident = 101;
  auto ranges = split(d.payload.size(), 1480);
  std::shuffle(ranges.begin(), ranges.end(), rng_);
  {
    ReassembledDatagram out = feed_all(d, ranges);
    expect_datagram(out, d);
  }
  expect_idle();
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, OverlapTest,
    ::testing::Values(OverlapCase{{1000, 1000, true}, {1480, 1480, true}},   // over the end
                      OverlapCase{{1000, 1000, true}, {504, 504, true}},     // over the start
                      OverlapCase{{1000, 1000, true}, {1008, 8, true}},      // inside
                      OverlapCase{{1000, 1000, true}, {504, 2000, true}},    // around
                      OverlapCase{{1000, 1000, true}, {1000, 504, true}},    // same start
                      OverlapCase{{1000, 1000, true}, {1496, 504, true}},    // same end
                      OverlapCase{{0, 1480, true}, {1472, 8, true}},         // last 8 bytes
                      OverlapCase{{1000, 1000, true}, {1992, 2016, true}},   // into the tail too
                      OverlapCase{{0, 1000, true}, {0, 1480, true}}));       // first fragment

TEST_F(Ipv4ReassemblerTest, AdjacentFragmentsDoNotOverlap) {
  const DatagramSpec d = random_datagram(rng_, 24, 5);
  EXPECT_FALSE(feed(d, Range{8, 8, true}).has_value());
  EXPECT_FALSE(feed(d, Range{16, 8, false}).has_value());
  auto out = feed(d, Range{0, 8, true});
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, d);
  EXPECT_EQ(count(C::kDropOverlap), 0u);
}

TEST_F(Ipv4ReassemblerTest, TwoDifferentEndsDiscardTheDatagram) {
  const DatagramSpec d = random_datagram(rng_, 6000, 6);
  EXPECT_FALSE(feed(d, Range{0, 1480, true}).has_value());
  EXPECT_FALSE(feed(d, Range{4000, 2000, false}).has_value());
  EXPECT_FALSE(feed(d, Range{4000, 1000, false}).has_value());  // ends at 5000, not 6000
  EXPECT_EQ(count(C::kDropInconsistentEnd), 1u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, DataBeyondTheEndDiscardsTheDatagram) {
  const DatagramSpec d = random_datagram(rng_, 6000, 6);
  // A final fragment, then a non-final one reaching past it.
  EXPECT_FALSE(feed(d, Range{1480, 1000, false}).has_value());
  EXPECT_FALSE(feed(d, Range{2960, 1480, true}).has_value());
  EXPECT_EQ(count(C::kDropInconsistentEnd), 1u);
  expect_idle();
  // Held data past where a final fragment then says the datagram ends.
  EXPECT_FALSE(feed(d, Range{2960, 1480, true}).has_value());
  EXPECT_FALSE(feed(d, Range{1480, 1000, false}).has_value());
  EXPECT_EQ(count(C::kDropInconsistentEnd), 2u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, BadFragmentLengthsAreDroppedAlone) {
  const DatagramSpec d = random_datagram(rng_, 6000, 8);
  EXPECT_FALSE(feed(d, Range{0, 1480, true}).has_value());
  EXPECT_FALSE(feed(d, Range{1480, 100, true}).has_value());  // not a multiple of 8
  EXPECT_FALSE(feed(d, Range{1480, 0, true}).has_value());    // empty, yet more follow
  EXPECT_EQ(count(C::kDropBadFragment), 2u);
  // A Packet shorter than its header says.
  Fragment f = make(d, Range{1480, 1480, true});
  f.packet.trim_back(1);
  EXPECT_FALSE(reasm().input(f.header, std::move(f.packet), now_).has_value());
  EXPECT_EQ(count(C::kDropBadFragment), 3u);
  // The datagram in progress is untouched and still completes.
  EXPECT_EQ(reasm().datagrams_in_progress(), 1u);
  EXPECT_FALSE(feed(d, Range{1480, 1480, true}).has_value());
  EXPECT_FALSE(feed(d, Range{2960, 1480, true}).has_value());
  auto out = feed(d, Range{4440, 1560, false});
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, d);
  EXPECT_EQ(count(C::kFragmentsReceived), 7u);
}

TEST_F(Ipv4ReassemblerTest, TooLongFragmentsAreDropped) {
  DatagramSpec d = random_datagram(rng_, 65536, 9);
  // 20 + 65528 + 8 = 65556 > 65535.
  EXPECT_FALSE(feed(d, Range{65528, 8, true}).has_value());
  // 20 + 65512 + 4 = 65536.
  EXPECT_FALSE(feed(d, Range{65512, 4, false}).has_value());
  EXPECT_EQ(count(C::kDropTooLong), 2u);
  EXPECT_EQ(reasm().datagrams_in_progress(), 0u);
  // 20 + 65512 + 3 = 65535 exactly: accepted.
  EXPECT_FALSE(feed(d, Range{65512, 3, false}).has_value());
  EXPECT_EQ(reasm().datagrams_in_progress(), 1u);
  EXPECT_EQ(count(C::kDropTooLong), 2u);
}

TEST_F(Ipv4ReassemblerTest, DatagramTooLongForTheFirstHeaderIsDiscarded) {
  // Every fragment fits, but 28 bytes of first header + 65515 of payload do not.
  DatagramSpec d = random_datagram(rng_, kMaxPayload, 10);
  d.first_header_len = 28;
  auto ranges = split(d.payload.size(), 1480);
  for (size_t i = 0; i < ranges.size(); ++i) EXPECT_FALSE(feed(d, ranges[i]).has_value());
  EXPECT_EQ(count(C::kDropTooLong), 1u);
  EXPECT_EQ(count(C::kDatagramsReassembled), 0u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, TimeoutAfterExactly30SecondsTellsTheListenerOnce) {
  const DatagramSpec d = random_datagram(rng_, 6000, 0xbeef);
  const auto ranges = split(d.payload.size(), 1480);
  EXPECT_FALSE(feed(d, ranges[0], /*padding=*/4).has_value());
  EXPECT_FALSE(feed(d, ranges[1]).has_value());
  advance_to(t0_ + Duration::seconds(10));
  EXPECT_FALSE(feed(d, ranges[3]).has_value());  // does not restart the clock
  EXPECT_EQ(wheel_.next_deadline(), t0_ + Duration::seconds(30));

  advance_to(t0_ + Duration::seconds(30) - Duration::nanos(1));
  EXPECT_TRUE(listener_.calls.empty());
  EXPECT_EQ(reasm().datagrams_in_progress(), 1u);
  EXPECT_GT(reasm().bytes_held(), 0u);

  advance_to(t0_ + Duration::seconds(30));
  ASSERT_EQ(listener_.calls.size(), 1u);
  const RecordingListener::Call& call = listener_.calls[0];
  EXPECT_EQ(call.now, t0_ + Duration::seconds(30));
  EXPECT_EQ(call.header.ident, 0xbeef);
  EXPECT_EQ(call.header.frag_offset, 0);
  EXPECT_TRUE(call.header.more_fragments);
  // The first fragment as received, from its IP header, without the link padding.
  EXPECT_EQ(call.quoted, fragment_bytes(d, ranges[0], 0));
  EXPECT_EQ(count(C::kDropTimeout), 1u);
  expect_idle();
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments());

  advance_to(t0_ + Duration::seconds(120));
  EXPECT_EQ(listener_.calls.size(), 1u);
  EXPECT_EQ(count(C::kDropTimeout), 1u);
}

TEST_F(Ipv4ReassemblerTest, TimeoutWithoutTheFirstFragmentIsSilent) {
  const DatagramSpec d = random_datagram(rng_, 6000, 12);
  const auto ranges = split(d.payload.size(), 1480);
  EXPECT_FALSE(feed(d, ranges[1]).has_value());
  EXPECT_FALSE(feed(d, ranges[4]).has_value());
  advance_to(t0_ + Duration::seconds(30));
  EXPECT_TRUE(listener_.calls.empty());
  EXPECT_EQ(count(C::kDropTimeout), 1u);
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, CompletionCancelsTheTimer) {
  const DatagramSpec d = random_datagram(rng_, 3000, 13);
  const auto ranges = split(d.payload.size(), 1480);
  EXPECT_FALSE(feed(d, ranges[0]).has_value());
  EXPECT_EQ(wheel_.armed_count(), 1u);
  advance_to(t0_ + Duration::seconds(29));
  EXPECT_FALSE(feed(d, ranges[1]).has_value());
  EXPECT_TRUE(feed(d, ranges[2]).has_value());
  EXPECT_EQ(wheel_.armed_count(), 0u);
  advance_to(t0_ + Duration::seconds(31));
  EXPECT_TRUE(listener_.calls.empty());
  EXPECT_EQ(count(C::kDropTimeout), 0u);
}

TEST_F(Ipv4ReassemblerTest, MemoryCapCountsSegmentStorageAndEvictsTheOldest) {
  // A 1480-byte fragment is 1500 bytes on the wire: three 512-byte segments.
  const size_t per_fragment = 3 * kSegmentCapacity;
  config_.max_bytes = 2 * per_fragment + per_fragment / 2;
  const DatagramSpec a = random_datagram(rng_, 6000, 20);
  const DatagramSpec b = random_datagram(rng_, 6000, 21);
  const auto ranges = split(a.payload.size(), 1480);
  EXPECT_FALSE(feed(a, ranges[0]).has_value());
  EXPECT_EQ(reasm().bytes_held(), per_fragment);
  EXPECT_FALSE(feed(a, ranges[1]).has_value());
  EXPECT_EQ(reasm().bytes_held(), 2 * per_fragment);
  // Would exceed the cap, and a is all there is to evict: this fragment is dropped.
  EXPECT_FALSE(feed(a, ranges[2]).has_value());
  EXPECT_EQ(count(C::kDropMemoryLimit), 1u);
  EXPECT_EQ(reasm().bytes_held(), 2 * per_fragment);
  // A small fragment still fits (one segment).
  EXPECT_FALSE(feed(a, ranges[4]).has_value());
  EXPECT_EQ(reasm().bytes_held(), 2 * per_fragment + kSegmentCapacity);
  // A new datagram at the cap evicts the oldest (a), rather than being refused.
  EXPECT_FALSE(feed(b, ranges[0]).has_value());
  EXPECT_EQ(count(C::kEvictedOldest) + count(C::kEvictedSourceShare), 1u);
  EXPECT_EQ(reasm().datagrams_in_progress(), 1u);
  EXPECT_EQ(reasm().bytes_held(), per_fragment);
  advance_to(t0_ + Duration::seconds(30));
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, DatagramCapEvictsTheOldest) {
  config_.max_datagrams = 3;
  std::vector<DatagramSpec> ds;
  for (uint16_t i = 0; i < 4; ++i) {
    ds.push_back(random_datagram(rng_, 3000, i));
    ds.back().header.src = wire::Ipv4Address(0x0a000001u + i);  // four sources: no share rule
  }
  const auto ranges = split(3000, 1480);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(feed(ds[i], ranges[0]).has_value());
  EXPECT_EQ(count(C::kEvictedOldest), 1u);
  EXPECT_EQ(count(C::kDropTooManyDatagrams), 0u);
  EXPECT_EQ(reasm().datagrams_in_progress(), 3u);
  // The newest three complete; ds[0] was the one evicted.
  for (int i = 1; i < 4; ++i) {
    EXPECT_FALSE(feed(ds[i], ranges[1]).has_value());
    auto out = feed(ds[i], ranges[2]);
    ASSERT_TRUE(out.has_value());
    expect_datagram(*out, ds[i]);
  }
  EXPECT_FALSE(feed(ds[0], ranges[1]).has_value());  // a fresh, incomplete reassembly
  EXPECT_EQ(reasm().datagrams_in_progress(), 1u);
  advance_to(t0_ + Duration::seconds(30));
  expect_idle();
}

// FragmentSmack (CVE-2018-5391): a source floods first fragments that never complete.
// Linux then refuses every fragment until its memory drains (up to 30 s); here the
// flood evicts only itself, and a legitimate datagram from another source whose
// fragments are interleaved with the flood is reassembled during it and right after.
TEST_F(Ipv4ReassemblerTest, AFragmentFloodEvictsOnlyItselfAndOthersStillReassemble) {
  config_.max_datagrams = 64;
  config_.max_bytes = 64 * 3 * kSegmentCapacity;  // 64 full-size fragments
  const auto ranges = split(3000, 1480);
  uint16_t ident = 1000;
  auto flood = [&](int n) {
    for (int i = 0; i < n; ++i) {
      DatagramSpec f = random_datagram(rng_, 3000, ident++);
      f.header.src = wire::Ipv4Address::from_octets(203, 0, 113, 66);
      EXPECT_FALSE(feed(f, ranges[0]).has_value());
    }
  };
  flood(500);
  EXPECT_GT(count(C::kEvictedSourceShare) + count(C::kEvictedOldest), 400u);
  for (uint16_t round = 0; round < 5; ++round) {
    DatagramSpec legit = random_datagram(rng_, 3000, static_cast<uint16_t>(round));
    EXPECT_FALSE(feed(legit, ranges[0]).has_value());
    flood(200);  // the flood goes on between its fragments
    EXPECT_FALSE(feed(legit, ranges[1]).has_value());
    flood(200);
    auto out = feed(legit, ranges[2]);
    ASSERT_TRUE(out.has_value()) << "round " << round;
    expect_datagram(*out, legit);
  }
  EXPECT_EQ(count(C::kDropMemoryLimit), 0u);
  EXPECT_LE(reasm().bytes_held(), config_.max_bytes);
  EXPECT_LE(reasm().datagrams_in_progress(), config_.max_datagrams);
  // Right after the flood (no waiting for a timeout), a datagram goes through.
  DatagramSpec after = random_datagram(rng_, 3000, 77);
  EXPECT_FALSE(feed(after, ranges[0]).has_value());
  EXPECT_FALSE(feed(after, ranges[1]).has_value());
  ASSERT_TRUE(feed(after, ranges[2]).has_value());
  advance_to(t0_ + Duration::seconds(30));
  expect_idle();
}

// Spoofed sources (each flood datagram from a new address) defeat any per-source
// rule; the oldest-first eviction still lets a datagram whose fragments come close
// together through, as long as fewer than max_datagrams flood datagrams come between.
TEST_F(Ipv4ReassemblerTest, ASpoofedFloodStillLetsCloseFragmentsThrough) {
  config_.max_datagrams = 64;
  const auto ranges = split(3000, 1480);
  uint32_t spoofed = 0x0b000000;
  auto flood = [&](int n) {
    for (int i = 0; i < n; ++i) {
      DatagramSpec f = random_datagram(rng_, 3000, static_cast<uint16_t>(i));
      f.header.src = wire::Ipv4Address(spoofed++);
      EXPECT_FALSE(feed(f, ranges[0]).has_value());
    }
  };
  flood(300);
  DatagramSpec legit = random_datagram(rng_, 3000, 9);
  EXPECT_FALSE(feed(legit, ranges[0]).has_value());
  flood(30);
  EXPECT_FALSE(feed(legit, ranges[1]).has_value());
  flood(30);  // 60 newer flood datagrams in all: fewer than 64
  auto out = feed(legit, ranges[2]);
  ASSERT_TRUE(out.has_value());
  expect_datagram(*out, legit);
  EXPECT_EQ(count(C::kEvictedOldest), 300u + 1 + 60 - 64);  // all but the 64 newest
  advance_to(t0_ + Duration::seconds(30));
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, ManyInterleavedDatagrams) {
  config_.hash_seed = 0x5eed5eed5eedULL;
  config_.max_bytes = size_t{pool_.total_segments()} * kSegmentCapacity;
  constexpr int kDatagrams = 300;
  std::vector<DatagramSpec> ds;
  struct Piece {
    int datagram;
    Range range;
  };
  std::vector<Piece> pieces;
  for (int i = 0; i < kDatagrams; ++i) {
    ds.push_back(random_datagram(rng_, 1481 + rng_() % 8000, static_cast<uint16_t>(i * 7)));
    ds.back().header.src = wire::Ipv4Address(0x0a000000u + static_cast<uint32_t>(i % 17));
    // Pieces of at most 1480 bytes: at least two of them, so every datagram is fragmented.
    for (Range r : split(ds.back().payload.size(), 8 * (16 + rng_() % 170))) pieces.push_back({i, r});
  }
  std::shuffle(pieces.begin(), pieces.end(), rng_);
  std::vector<int> completed(kDatagrams, 0);
  size_t peak = 0;
  for (const Piece& p : pieces) {
    auto out = feed(ds[p.datagram], p.range);
    peak = std::max(peak, reasm().datagrams_in_progress());
    if (out) {
      expect_datagram(*out, ds[p.datagram]);
      ++completed[p.datagram];
    }
  }
  EXPECT_GT(peak, 100u);
  for (int i = 0; i < kDatagrams; ++i) EXPECT_EQ(completed[i], 1) << "datagram " << i;
  EXPECT_EQ(count(C::kDatagramsReassembled), static_cast<uint64_t>(kDatagrams));
  EXPECT_EQ(count(C::kFragmentsReceived), pieces.size());
  expect_idle();
}

TEST_F(Ipv4ReassemblerTest, DestructionFreesEverythingInProgress) {
  for (uint16_t i = 0; i < 20; ++i) {
    const DatagramSpec d = random_datagram(rng_, 5000, i);
    EXPECT_FALSE(feed(d, Range{0, 1480, true}).has_value());
  }
  EXPECT_EQ(wheel_.armed_count(), 20u);
  EXPECT_LT(pool_.available_segments(), pool_.total_segments());
  reasm_.reset();
  EXPECT_EQ(wheel_.armed_count(), 0u);
  EXPECT_EQ(pool_.available_segments(), pool_.total_segments());
  advance_to(t0_ + Duration::seconds(60));
  EXPECT_TRUE(listener_.calls.empty());
}

TEST_F(Ipv4ReassemblerTest, CounterNames) {
  std::vector<std::string_view> names;
  reasm().counters().for_each([&](std::string_view name, uint64_t) { names.push_back(name); });
  ASSERT_EQ(names.size(), static_cast<size_t>(C::kCount));
  EXPECT_EQ(names.front(), "fragments_received");
  EXPECT_EQ(names.back(), "evicted_source_share");
}

}  // namespace
}  // namespace joyride::core
