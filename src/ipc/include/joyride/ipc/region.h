// The shared-memory contract between an application (libjoyride_preload.so) and
// joyrided: one region per application, a memfd the service creates, sizes and maps,
// and hands to the application over the attach socket (attach.h).
//
// Rules (../shared/DESIGN.md, "Applications"):
// - Offsets, never pointers: each side maps the region at its own address.
// - Versioned: magic + version + the geometry in the header; the app refuses a
//   region it does not understand, the service never reads its own geometry back
//   from the region (it keeps a private copy, RegionGeometry).
// - Nothing the app writes is trusted: every index the service reads from here is
//   copied out and checked against its private state (service_view.h); a bad value
//   resets that socket, never anything else.
// - No locks shared with the app: only single-writer words, published with
//   release stores and read with acquire loads.
//
// Layout (every part 64-byte aligned, offsets in RegionHeader):
//
//   0            RegionHeader          magic, geometry, doorbell words
//   calls        CallSlot[call_slots]  control calls (socket, bind, connect, ...)
//   kicks        uint64_t[kick_words]  one bit per socket: "the app moved an index"
//   sockets      SocketShared[max_sockets]  readiness + FIFO indices per socket
//   fifos        per socket: rx bytes [fifo_bytes], tx bytes [fifo_bytes]
//   buffers      [buffer_bytes]: the stack instance's TCP socket buffers, carved by
//                the service (service/region_buffers.h); page-aligned
//
// Data path (no system call on either side while both are busy):
//   send(): app copies into the socket's tx FIFO, publishes tx.tail, sets its kick
//           bit; the service moves tx FIFO -> TCP send buffer and publishes tx.head.
//   recv(): the service moves TCP receive buffer -> rx FIFO, publishes rx.tail; the
//           app copies out, publishes rx.head and sets the kick bit (so the service
//           refills the FIFO and opens the window).
// Doorbells: the service bumps wake_seq after every round that published something
// for this app and wakes sleepers (FUTEX_WAKE on wake_seq, a write to the app's
// eventfd) only when the counters say someone sleeps; the app writes the service's
// eventfd only when service_sleeping is set.
//
// The app's eventfd is a non-blocking semaphore eventfd. A thread about to sleep in
// poll/epoll on it: poll_waiters += 1, poll_armed = 1, looks at readiness once more,
// sleeps, takes one token when it wakes, poll_waiters -= 1. The service, after a
// round that published something: if poll_waiters > 0 and poll_armed.exchange(0),
// writes poll_waiters tokens (every sleeper wakes; one write per arming). A thread
// blocked on one socket instead: futex_waiters += 1, reads wake_seq, looks once
// more, FUTEX_WAITs on wake_seq with the value read, futex_waiters -= 1; the service
// bumps wake_seq every such round and FUTEX_WAKEs when futex_waiters > 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace joyride::ipc {

inline constexpr uint32_t kRegionMagic = 0x4a524944;  // "JRID"
inline constexpr uint32_t kRegionVersion = 3;  // 2: page-aligned FIFO area; 3: the buffer area
inline constexpr size_t kCacheLine = 64;
// Hard ceilings, whatever the config says: the kick summary word has 64 bits, each
// covering one kick word of 64 sockets.
inline constexpr uint32_t kMaxSockets = 64 * 64;
inline constexpr uint32_t kMaxCallSlots = 256;
// The FIFO area starts on a page; with page-multiple FIFOs (the default 256 KiB) each
// socket's FIFOs are whole pages, which the service gives back when it closes.
inline constexpr uint64_t kFifoAlignment = 4096;
inline constexpr uint64_t kMaxBufferBytes = uint64_t{1} << 40;

// ---- control calls --------------------------------------------------------------

enum class CallOp : uint32_t {
  kNone = 0,
  kSocket,       // args[0] = type (SOCK_STREAM or SOCK_DGRAM); result = socket index, out[0] = generation
  kBind,         // addr; result 0
  kListen,       // args[0] = backlog
  kAccept,       // result = new socket index (out[0] generation), addr = peer; -EAGAIN when none
  kConnect,      // addr; result 0 (connected later: watch kConnected/kError) or -errno
  kShutdown,     // args[0] = SHUT_RD/SHUT_WR/SHUT_RDWR
  kClose,        // result 0
  kSetOption,    // args[0] = level, args[1] = name, args[2] = int value
  kGetOption,    // args[0] = level, args[1] = name; out[0] = int value
  kLocalName,    // addr = local endpoint
  kPeerName,     // addr = remote endpoint or -ENOTCONN
  kTcpInfo,      // payload = struct tcp_info (Linux layout), out[0] = its length
  kTakeError,    // result = pending socket error (positive errno) or 0; clears it
  kQueues,       // out[0] = bytes the stack holds unsent or unacknowledged (SIOCOUTQ
                 // adds the tx FIFO), out[1] = received bytes it holds (FIONREAD)
  kCount,
};

// States of CallSlot::state. Only the app moves kFree -> kClaimed -> kRequested and
// kDone -> kFree; only the service moves kRequested -> kDone.
enum CallState : uint32_t { kFree = 0, kClaimed = 1, kRequested = 2, kDone = 3 };

// An address as the contract carries it: family (AF_INET/AF_INET6), port in host
// order, the address bytes in network order (4 or 16 used).
struct WireAddress {
  uint16_t family = 0;
  uint16_t port = 0;
  uint8_t bytes[16] = {};
};
static_assert(sizeof(WireAddress) == 20);

inline constexpr size_t kCallPayload = 256;

struct alignas(kCacheLine) CallSlot {
  std::atomic<uint32_t> state;    // CallState; the app FUTEX_WAITs on it while kRequested
  std::atomic<uint32_t> waiting;  // app: 1 while a thread sleeps on state (service wakes it)
  uint32_t op;                    // CallOp
  uint32_t socket;                // socket index the call is about
  uint32_t generation;            // that socket's generation (stale handles are refused)
  uint32_t pad0;
  int64_t args[4];
  int64_t result;                 // >= 0 success, < 0 a negated errno
  int64_t out[2];
  WireAddress addr;               // in (bind/connect) or out (accept/names)
  uint32_t pad1;
  uint8_t payload[kCallPayload];  // out (tcp_info)
};
static_assert(sizeof(CallSlot) % kCacheLine == 0);
static_assert(sizeof(CallSlot) == 384);

// ---- per-socket state -----------------------------------------------------------

// SocketShared::flags, written by the service only.
enum SocketFlag : uint32_t {
  kOpen = 1u << 0,        // the slot holds a live socket of this generation
  kConnected = 1u << 1,   // ESTABLISHED (or later): data may flow
  kListening = 1u << 2,
  kRdEof = 1u << 3,       // the peer's FIN is in the rx FIFO: after the bytes, EOF
  kWrClosed = 1u << 4,    // sending is over (shutdown(SHUT_WR), reset, or closed)
  kError = 1u << 5,       // a socket error is pending (SO_ERROR via kTakeError)
  kHangup = 1u << 6,      // both directions are done (POLLHUP)
  kAcceptable = 1u << 7,  // a listener has a connection to accept
  kReset = 1u << 8,       // the connection was reset (recv after the data: ECONNRESET)
  kRefused = 1u << 9,     // a connect was refused / timed out (error holds which)
  kDatagram = 1u << 10,   // a UDP socket: the FIFOs carry DatagramHeader records
};

// One direction of a socket's data: a byte FIFO of fifo_bytes bytes. Positions are
// 64-bit stream offsets (never wrap in practice); byte p lives at p % fifo_bytes.
// The producer writes only `tail`, the consumer only `head`; each on its own line.
struct FifoIndices {
  alignas(kCacheLine) std::atomic<uint64_t> tail;
  alignas(kCacheLine) std::atomic<uint64_t> head;
};
static_assert(sizeof(FifoIndices) == 2 * kCacheLine);

struct alignas(kCacheLine) SocketShared {
  std::atomic<uint32_t> generation;  // service: changes each time the slot is reused
  std::atomic<uint32_t> flags;       // service: SocketFlag bits
  std::atomic<int32_t> error;        // service: the errno behind kError/kRefused/kReset
  // Service, listeners: bumped for every readiness event that found connections
  // queued, so an EPOLLET waiter sees a new edge for a new connection even while
  // older ones are still waiting to be accepted (Linux: sk_data_ready per child).
  std::atomic<uint32_t> arrivals;
  // Service: received bytes the stack still holds because the rx FIFO was full
  // (FIONREAD = rx FIFO + rx_in_stack), republished with every rx move.
  std::atomic<uint32_t> rx_in_stack;
  FifoIndices rx;  // service produces (tail), app consumes (head)
  FifoIndices tx;  // app produces (tail), service consumes (head)
};
static_assert(sizeof(SocketShared) == 5 * kCacheLine);

// ---- datagram sockets (UDP) ------------------------------------------------------
//
// A UDP socket uses the same SocketShared slot and FIFOs, but each FIFO carries
// records instead of a byte stream, so datagram boundaries and addresses survive:
// a DatagramHeader, then `length` payload bytes, the whole record padded to 8 bytes.
// Records start at 8-byte positions and never wrap: when one would not fit before
// the FIFO's end, the producer writes a header with length = kDatagramSkip there
// ("continue at offset 0") and the record starts at the next multiple of fifo_bytes.
// When fewer than sizeof(DatagramHeader) bytes are left before the end, no skip
// header fits: the consumer skips those bytes without reading them. Indices are the
// same stream positions as TCP's (skipped bytes count), published after the whole
// record (skip header included) is written.
//
// addr: on rx, the datagram's source; on tx, its destination, family 0 meaning "the
// connected peer" (send/write). The service checks every tx header it copies out.
struct DatagramHeader {
  uint32_t length;  // payload bytes, or kDatagramSkip
  uint32_t pad;
  WireAddress addr;
};
static_assert(sizeof(DatagramHeader) == 28);
inline constexpr uint32_t kDatagramSkip = 0xffffffff;
// The largest UDP payload over IPv4 (65535 - 20 - 8); its record is 65536 bytes.
inline constexpr uint32_t kMaxDatagram = 65507;

inline constexpr uint64_t datagram_record_bytes(uint64_t length) {
  return (sizeof(DatagramHeader) + length + 7) & ~uint64_t{7};
}
static_assert(datagram_record_bytes(kMaxDatagram) == 65536);

// Where a record of `record_bytes` starts in a FIFO of `size` bytes whose producer
// is at `tail` and consumer at `head`: tail itself, or the start of the next lap
// when it would not fit before the end; kNoRoom when it does not fit at all.
inline constexpr uint64_t kNoRoom = ~uint64_t{0};
inline constexpr uint64_t datagram_place(uint64_t head, uint64_t tail, uint64_t size, uint64_t record_bytes) {
  const uint64_t to_end = size - tail % size;
  const uint64_t start = record_bytes <= to_end ? tail : tail + to_end;
  return start + record_bytes - head <= size ? start : kNoRoom;
}

// ---- the header -----------------------------------------------------------------

struct alignas(kCacheLine) RegionHeader {
  uint32_t magic;
  uint32_t version;
  uint64_t region_bytes;
  uint32_t max_sockets;
  uint32_t call_slots;
  uint32_t fifo_bytes;  // per direction per socket
  uint32_t kick_words;
  uint64_t calls_offset;
  uint64_t kicks_offset;
  uint64_t sockets_offset;
  uint64_t fifos_offset;
  uint64_t app_id;      // the service's number for this application (joyride stat)
  uint64_t buffers_offset;
  uint64_t buffer_bytes;  // the application's socket buffer budget

  // Service -> app doorbell.
  alignas(kCacheLine) std::atomic<uint32_t> wake_seq;  // futex word, bumped after each publishing round
  std::atomic<uint32_t> futex_waiters;                 // app threads in FUTEX_WAIT on wake_seq
  std::atomic<uint32_t> poll_waiters;                  // app threads asleep on the app eventfd
  std::atomic<uint32_t> poll_armed;                    // app: 1 = ring the eventfd at the next change

  // App -> service doorbell.
  alignas(kCacheLine) std::atomic<uint32_t> calls_pending;     // app: bumped after a slot became kRequested
  std::atomic<uint32_t> service_sleeping;                      // service: 1 while asleep (write its eventfd)
  alignas(kCacheLine) std::atomic<uint64_t> kick_summary;      // bit w: kick word w has bits set
  // Fallbacks the preload made (counted here so the service can show them).
  alignas(kCacheLine) std::atomic<uint64_t> fallback_count[4];
};
static_assert(sizeof(RegionHeader) % kCacheLine == 0);

// Reasons a socket went to the kernel (RegionHeader::fallback_count index).
enum FallbackReason : uint32_t {
  kFallbackFamily = 0,   // AF_UNIX, AF_NETLINK, raw, IPv6 ...
  kFallbackRoute = 1,    // a destination no Joyride interface routes (loopback ...)
  kFallbackOption = 2,   // an option Joyride lacks
  kFallbackOther = 3,
};

// The geometry both sides compute from the same four numbers.
struct RegionGeometry {
  uint32_t max_sockets = 0;
  uint32_t call_slots = 0;
  uint32_t fifo_bytes = 0;
  uint32_t kick_words = 0;
  uint64_t calls_offset = 0;
  uint64_t kicks_offset = 0;
  uint64_t sockets_offset = 0;
  uint64_t fifos_offset = 0;
  uint64_t buffers_offset = 0;
  uint64_t buffer_bytes = 0;
  uint64_t region_bytes = 0;

  uint64_t rx_fifo_offset(uint32_t socket) const { return fifos_offset + uint64_t{socket} * 2 * fifo_bytes; }
  uint64_t tx_fifo_offset(uint32_t socket) const { return rx_fifo_offset(socket) + fifo_bytes; }
};

// The app's side of a kick: socket `index`'s bit, and its word's bit in the summary
// when the word had none yet (the service takes both with exchanges). seq_cst, for
// the "service_sleeping" handshake: either the service sees the bit before it
// sleeps, or the app sees that it sleeps and rings its doorbell.
inline void raise_kick(void* region, const RegionGeometry& g, uint32_t index) {
  auto* base = static_cast<uint8_t*>(region);
  auto* words = reinterpret_cast<std::atomic<uint64_t>*>(base + g.kicks_offset);
  const uint64_t bit = uint64_t{1} << (index % 64);
  if ((words[index / 64].fetch_or(bit) & bit) == 0)
    reinterpret_cast<RegionHeader*>(base)->kick_summary.fetch_or(uint64_t{1} << (index / 64));
}

// Lays out a region; false when a number is out of range (0 or above the ceilings,
// fifo_bytes not a multiple of the cache line, buffer_bytes not a multiple of a page
// or above kMaxBufferBytes).
bool compute_geometry(uint32_t max_sockets, uint32_t call_slots, uint32_t fifo_bytes, uint64_t buffer_bytes,
                      RegionGeometry& out);

// Fills a fresh (zeroed) region's header from its geometry.
void init_header(void* region, const RegionGeometry& g, uint64_t app_id);

// The app's check of a mapped region: magic, version, and geometry consistent with
// what compute_geometry gives for the header's own numbers and with the mapped size.
// Returns the geometry, or false with `why` set.
bool check_header(const void* region, size_t mapped_bytes, RegionGeometry& out, const char** why);

}  // namespace joyride::ipc
