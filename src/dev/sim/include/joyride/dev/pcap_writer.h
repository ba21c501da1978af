// Classic pcap files (not pcapng) with nanosecond timestamps, so a simulated run
// opens in Wireshark/tshark with its simulated times:
//
//   file   = global header (24 bytes) , record*
//   global = magic 0xa1b23c4d (ns resolution) | version 2.4 | thiszone 0 | sigfigs 0
//            | snaplen | linktype 1 (LINKTYPE_ETHERNET)
//   record = ts_sec | ts_nsec | incl_len | orig_len (4 bytes each) , incl_len bytes
//
// Every field is written little-endian whatever the host (readers detect the byte
// order from the magic). Not for the production packet path: it writes through stdio.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "joyride/base/time.h"
#include "joyride/buf/packet.h"

namespace joyride::dev::sim {

class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanos = 0xa1b23c4d;
  static constexpr uint16_t kVersionMajor = 2;
  static constexpr uint16_t kVersionMinor = 4;
  static constexpr uint32_t kLinktypeEthernet = 1;
  static constexpr uint32_t kDefaultSnaplen = 262144;
  static constexpr size_t kGlobalHeaderLen = 24;
  static constexpr size_t kRecordHeaderLen = 16;

  // Creates (truncates) `path` and writes the global header. ok() tells whether
  // that worked; writes on a failed writer do nothing and return false.
  explicit PcapWriter(const std::string& path, uint32_t snaplen = kDefaultSnaplen);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  bool ok() const { return file_ != nullptr && !failed_; }
  // One record stamped `ts` (instants before 0 are written as 0). Frames longer
  // than snaplen are cut to snaplen; orig_len keeps the real length.
  bool write(base::Instant ts, const buf::Packet& frame);
  bool write(base::Instant ts, std::span<const uint8_t> frame);
  // Push buffered records to the file (the destructor does this too).
  bool flush();
  uint64_t records() const { return records_; }

 private:
  bool put(const void* p, size_t n);
  bool write_record_header(base::Instant ts, size_t incl_len, size_t orig_len);

  std::FILE* file_ = nullptr;
  uint32_t snaplen_;
  bool failed_ = false;
  uint64_t records_ = 0;
};

}  // namespace joyride::dev::sim
