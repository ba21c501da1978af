// Internet checksum throughput: the fast path against the plain RFC 1071 loop.
#include <benchmark/benchmark.h>

#include <vector>

#include "joyride/base/random.h"
#include "joyride/wire/checksum.h"

namespace {

std::vector<uint8_t> random_bytes(size_t n) {
  joyride::base::SeededRandom rng(1);
  std::vector<uint8_t> v(n);
  rng.fill(v);
  return v;
}

void BM_ChecksumFast(benchmark::State& state) {
  const auto data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(joyride::wire::internet_checksum(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_ChecksumReference(benchmark::State& state) {
  const auto data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(joyride::wire::checksum_reference(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(BM_ChecksumFast)->Arg(40)->Arg(1460)->Arg(9000);
BENCHMARK(BM_ChecksumReference)->Arg(40)->Arg(1460)->Arg(9000);

}  // namespace
