#include "joyride/ipc/region.h"

#include <cstring>

namespace joyride::ipc {
namespace {

uint64_t align_up(uint64_t v, uint64_t to = kCacheLine) { return (v + to - 1) / to * to; }

}  // namespace

bool compute_geometry(uint32_t max_sockets, uint32_t call_slots, uint32_t fifo_bytes, uint64_t buffer_bytes,
                      RegionGeometry& out) {
  if (max_sockets == 0 || max_sockets > kMaxSockets) return false;
  if (call_slots == 0 || call_slots > kMaxCallSlots) return false;
  if (fifo_bytes == 0 || fifo_bytes % kCacheLine != 0 || fifo_bytes > (64u << 20)) return false;
  if (buffer_bytes % kFifoAlignment != 0 || buffer_bytes > kMaxBufferBytes) return false;
  RegionGeometry g;
  g.max_sockets = max_sockets;
  g.call_slots = call_slots;
  g.fifo_bytes = fifo_bytes;
  g.kick_words = (max_sockets + 63) / 64;
  g.calls_offset = align_up(sizeof(RegionHeader));
  g.kicks_offset = align_up(g.calls_offset + uint64_t{call_slots} * sizeof(CallSlot));
  g.sockets_offset = align_up(g.kicks_offset + uint64_t{g.kick_words} * sizeof(uint64_t));
  // Page-aligned, so a closed socket's FIFO pages can be given back (MADV_REMOVE).
  g.fifos_offset = align_up(g.sockets_offset + uint64_t{max_sockets} * sizeof(SocketShared), kFifoAlignment);
  g.buffers_offset = align_up(g.fifos_offset + uint64_t{max_sockets} * 2 * fifo_bytes, kFifoAlignment);
  g.buffer_bytes = buffer_bytes;
  g.region_bytes = g.buffers_offset + buffer_bytes;
  out = g;
  return true;
}

void init_header(void* region, const RegionGeometry& g, uint64_t app_id) {
  auto* h = static_cast<RegionHeader*>(region);
  h->magic = kRegionMagic;
  h->version = kRegionVersion;
  h->region_bytes = g.region_bytes;
  h->max_sockets = g.max_sockets;
  h->call_slots = g.call_slots;
  h->fifo_bytes = g.fifo_bytes;
  h->kick_words = g.kick_words;
  h->calls_offset = g.calls_offset;
  h->kicks_offset = g.kicks_offset;
  h->sockets_offset = g.sockets_offset;
  h->fifos_offset = g.fifos_offset;
  h->app_id = app_id;
  h->buffers_offset = g.buffers_offset;
  h->buffer_bytes = g.buffer_bytes;
}

bool check_header(const void* region, size_t mapped_bytes, RegionGeometry& out, const char** why) {
  auto fail = [&](const char* w) {
    if (why != nullptr) *why = w;
    return false;
  };
  if (mapped_bytes < sizeof(RegionHeader)) return fail("region smaller than its header");
  RegionHeader h;
  std::memcpy(static_cast<void*>(&h), region, sizeof h);  // one copy: the service could rewrite it
  if (h.magic != kRegionMagic) return fail("bad magic (not a Joyride region)");
  if (h.version != kRegionVersion) return fail("region version differs from the preload's (upgrade both)");
  RegionGeometry g;
  if (!compute_geometry(h.max_sockets, h.call_slots, h.fifo_bytes, h.buffer_bytes, g))
    return fail("geometry out of range");
  if (g.kick_words != h.kick_words || g.calls_offset != h.calls_offset || g.kicks_offset != h.kicks_offset ||
      g.sockets_offset != h.sockets_offset || g.fifos_offset != h.fifos_offset ||
      g.buffers_offset != h.buffers_offset || g.region_bytes != h.region_bytes)
    return fail("offsets do not match the geometry");
  if (g.region_bytes > mapped_bytes) return fail("region larger than the mapping");
  out = g;
  return true;
}

}  // namespace joyride::ipc
