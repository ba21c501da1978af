#include "joyride/dev/pcap_writer.h"

#include <algorithm>
#include <array>

namespace joyride::dev::sim {

namespace {

void store_le32(uint8_t* out, uint32_t v) {
  out[0] = static_cast<uint8_t>(v);
  out[1] = static_cast<uint8_t>(v >> 8);
  out[2] = static_cast<uint8_t>(v >> 16);
  out[3] = static_cast<uint8_t>(v >> 24);
}

void store_le16(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v);
  out[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

PcapWriter::PcapWriter(const std::string& path, uint32_t snaplen) : snaplen_(snaplen) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return;
  std::array<uint8_t, kGlobalHeaderLen> h{};
  store_le32(&h[0], kMagicNanos);
  store_le16(&h[4], kVersionMajor);
  store_le16(&h[6], kVersionMinor);
  store_le32(&h[8], 0);   // thiszone: timestamps are UTC (here: simulated time)
  store_le32(&h[12], 0);  // sigfigs
  store_le32(&h[16], snaplen_);
  store_le32(&h[20], kLinktypeEthernet);
  put(h.data(), h.size());
}

PcapWriter::~PcapWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

bool PcapWriter::put(const void* p, size_t n) {
  if (!ok()) return false;
  if (n != 0 && std::fwrite(p, 1, n, file_) != n) failed_ = true;
  return !failed_;
}

bool PcapWriter::write_record_header(base::Instant ts, size_t incl_len, size_t orig_len) {
  const int64_t ns = std::max<int64_t>(ts.as_nanos(), 0);
  std::array<uint8_t, kRecordHeaderLen> h{};
  store_le32(&h[0], static_cast<uint32_t>(ns / 1'000'000'000));
  store_le32(&h[4], static_cast<uint32_t>(ns % 1'000'000'000));
  store_le32(&h[8], static_cast<uint32_t>(incl_len));
  store_le32(&h[12], static_cast<uint32_t>(orig_len));
  return put(h.data(), h.size());
}

bool PcapWriter::write(base::Instant ts, std::span<const uint8_t> frame) {
  const size_t incl = std::min<size_t>(frame.size(), snaplen_);
  if (!write_record_header(ts, incl, frame.size())) return false;
  if (!put(frame.data(), incl)) return false;
  ++records_;
  return true;
}

bool PcapWriter::write(base::Instant ts, const buf::Packet& frame) {
  const size_t incl = std::min<size_t>(frame.len(), snaplen_);
  if (!write_record_header(ts, incl, frame.len())) return false;
  size_t left = incl;
  frame.for_each_segment([&](std::span<const uint8_t> bytes) {
    const size_t n = std::min(left, bytes.size());
    put(bytes.data(), n);
    left -= n;
  });
  if (!ok()) return false;
  ++records_;
  return true;
}

bool PcapWriter::flush() {
  if (!ok()) return false;
  if (std::fflush(file_) != 0) failed_ = true;
  return !failed_;
}

}  // namespace joyride::dev::sim
