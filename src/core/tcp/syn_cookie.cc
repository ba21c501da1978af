#include "joyride/core/tcp/syn_cookie.h"

namespace joyride::core::tcp {
namespace {

constexpr int kCountShift = 24;  // the counter's low 8 bits sit above 24 bits of mac + index
constexpr uint32_t kLowMask = (1u << kCountShift) - 1;
constexpr uint32_t kCountMask = 0xff;
constexpr int kMacBits = kCountShift - SynCookies::kMssIndexBits;
constexpr uint32_t kMacMask = (1u << kMacBits) - 1;
constexpr uint32_t kIndexMask = (1u << SynCookies::kMssIndexBits) - 1;

uint32_t port_pair(const FourTuple& t) { return (uint32_t{t.local_port} << 16) | t.remote_port; }

}  // namespace

SynCookies::SynCookies(base::RandomSource& random)
    : key1_(base::SipKey::from(random)), key2_(base::SipKey::from(random)) {}

size_t SynCookies::mss_index(uint16_t peer_mss) {
  size_t i = kMssTable.size() - 1;
  while (i > 0 && kMssTable[i] > peer_mss) --i;
  return i;
}

uint32_t SynCookies::counter(base::Instant now) {
  const int64_t period = kCounterPeriod.as_nanos();
  const int64_t ns = now.as_nanos();
  // Floor division, so the counter never runs backwards across the Instant epoch.
  const int64_t q = ns / period - ((ns % period) < 0 ? 1 : 0);
  return static_cast<uint32_t>(q);
}

uint32_t SynCookies::hash1(const FourTuple& t, uint32_t peer_isn) const {
  const std::array<uint32_t, 4> words = {t.local.value(), t.remote.value(), port_pair(t), peer_isn};
  return static_cast<uint32_t>(base::siphash24_words(key1_, words));
}

uint32_t SynCookies::mac(const FourTuple& t, uint32_t peer_isn, uint32_t count, uint32_t index) const {
  const std::array<uint32_t, 6> words = {t.local.value(), t.remote.value(), port_pair(t), peer_isn, count, index};
  return static_cast<uint32_t>(base::siphash24_words(key2_, words)) & kMacMask;
}

uint32_t SynCookies::make_isn(const FourTuple& t, uint32_t peer_isn, uint16_t peer_mss,
                              base::Instant now) const {
  const uint32_t count = counter(now);
  const auto index = static_cast<uint32_t>(mss_index(peer_mss));
  const uint32_t low = (mac(t, peer_isn, count, index) << SynCookies::kMssIndexBits) | index;
  return hash1(t, peer_isn) + (count << kCountShift) + low;
}

std::optional<uint16_t> SynCookies::check_isn(const FourTuple& t, uint32_t peer_isn, uint32_t our_isn,
                                              base::Instant now) const {
  const uint32_t count = counter(now);
  const uint32_t v = our_isn - hash1(t, peer_isn);
  // How many counter values ago the cookie was made, from the 8 bits it carries. A cookie
  // "from the future" wraps to a large age and is rejected with the old ones.
  const uint32_t age = (count - (v >> kCountShift)) & kCountMask;
  if (age >= kMaxAge) return std::nullopt;
  const uint32_t low = v & kLowMask;
  const uint32_t index = low & kIndexMask;
  if ((low >> SynCookies::kMssIndexBits) != mac(t, peer_isn, count - age, index)) return std::nullopt;
  return kMssTable[index];
}

uint32_t SynCookies::encode_ts(uint32_t tsval, const SynCookieOptions& o) {
  uint32_t options = kTsWscaleMask;
  if (o.wscale) options = *o.wscale < kMaxWscale ? *o.wscale : kMaxWscale;
  if (o.sack) options |= kTsSack;
  if (o.ecn) options |= kTsEcn;
  constexpr uint32_t kTsLowMask = (1u << kTsBits) - 1;
  uint32_t ts = (tsval & ~kTsLowMask) | options;
  // Same high bits, so ts > tsval exactly when the options exceed tsval's low bits: step
  // back one 64-tick block (wrapping below zero, which is still "before" mod 2^32).
  if (ts > tsval) ts -= kTsLowMask + 1;
  return ts;
}

std::optional<SynCookieOptions> SynCookies::decode_ts(uint32_t tsecr) {
  SynCookieOptions o;
  // The 4-bit field holds 0..14 or 15 (none): nothing in it is out of range, so no
  // pattern is rejected (see the header).
  const uint32_t ws = tsecr & kTsWscaleMask;
  if (ws != kTsWscaleMask) o.wscale = static_cast<uint8_t>(ws);
  o.sack = (tsecr & kTsSack) != 0;
  o.ecn = (tsecr & kTsEcn) != 0;
  return o;
}

}  // namespace joyride::core::tcp
