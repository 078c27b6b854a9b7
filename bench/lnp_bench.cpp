// LNP engine benchmark: builds an index of N ported numbers (default 100 million) spread over
// every valid US/CA NPA-NXX, then measures load rate, bytes per ported number, single-lookup
// latency (p50/p99) and lookup throughput on one core. The floor, measured in the same run, is
// one dependent random read from an array of the same size (a DRAM miss).
// Usage: lnp_bench [N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/huge_pages.hpp"
#include "numbering/carriers.hpp"
#include "numbering/lnp.hpp"
#include "numbering/nanp_tables.hpp"

namespace {
using Clock = std::chrono::steady_clock;
using portline::numbering::LnpIndex;
namespace tables = portline::numbering::tables;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::size_t RssBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0;
  long rss = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) {
      rss = 0;
    }
    std::fclose(f);
  }
  return static_cast<std::size_t>(rss) * 4096U;
}

template <typename F>
void Percentiles(const char* name, std::vector<double>& ns, F&& note) {
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) { return ns[static_cast<std::size_t>(p / 100.0 * (ns.size() - 1))]; };
  std::printf("%-28s p50 %7.1f ns   p99 %7.1f ns   p99.9 %7.1f ns %s\n", name, pct(50), pct(99),
              pct(99.9), note());
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000ULL;
  std::vector<std::uint32_t> prefixes;
  for (std::uint32_t p = 200000; p < 1000000; ++p) {
    const auto region = tables::kNpaRegion[p / 1000];
    if (region != 255 &&
        (std::string_view(tables::kRegions[region]) == "US" ||
         std::string_view(tables::kRegions[region]) == "CA") &&
        ((tables::kValidPrefix[p / 64] >> (p % 64)) & 1U)) {
      prefixes.push_back(p);
    }
  }
  std::printf("dataset: %zu ported numbers over %zu valid US/CA NPA-NXX\n", n, prefixes.size());
  std::mt19937_64 rng(20261122);
  const auto& carriers = portline::numbering::CarrierRegistry::Default();
  const auto ncar = static_cast<std::uint16_t>(carriers.all().size() - 1);

  // Load: what `lnp import` and a reload do, from numbers already in memory (not parsing).
  std::vector<std::uint64_t> numbers(n);
  for (auto& x : numbers) {
    x = static_cast<std::uint64_t>(prefixes[rng() % prefixes.size()]) * 10000U + rng() % 10000U;
  }
  const std::size_t rss_before = RssBytes();
  const auto t0 = Clock::now();
  LnpIndex::Builder b;
  b.ReservePorted(n);
  for (std::uint32_t p : prefixes) {
    b.SetPrefix(p, static_cast<std::uint16_t>(1 + p % ncar));
  }
  for (std::size_t i = 0; i < n; ++i) {
    b.AddPorted(numbers[i], static_cast<std::uint16_t>(1 + i % ncar));
  }
  const LnpIndex idx = std::move(b).Build();
  const auto t1 = Clock::now();
  std::printf("load: %.2f s = %.2f M numbers/s (goal >= 1 M/s)\n", Seconds(t0, t1),
              static_cast<double>(n) / Seconds(t0, t1) / 1e6);
  std::printf(
      "memory: index %.1f MiB = %.2f bytes per ported number (goal <= 12); distinct %zu; "
      "RSS growth %.1f MiB\n",
      static_cast<double>(idx.MemoryBytes()) / 1048576.0,
      static_cast<double>(idx.MemoryBytes()) / static_cast<double>(idx.ported_count()),
      idx.ported_count(), static_cast<double>(RssBytes() - rss_before) / 1048576.0);

  // Queries: half ported numbers (hits), half random valid numbers (mostly prefix fallbacks).
  constexpr std::size_t kQueries = 10'000'000;
  std::vector<std::uint64_t> queries(kQueries);
  for (std::size_t i = 0; i < kQueries; ++i) {
    queries[i] = i % 2 ? numbers[rng() % n]
                       : static_cast<std::uint64_t>(prefixes[rng() % prefixes.size()]) * 10000U +
                             rng() % 10000U;
  }
  std::uint64_t sink = 0;
  const auto t2 = Clock::now();
  for (std::uint64_t q : queries) {
    sink += idx.Lookup(q).value_or(0);
  }
  const auto t3 = Clock::now();
  const double lookups_per_s = static_cast<double>(kQueries) / Seconds(t2, t3);

  std::vector<std::uint16_t> batch_out(kQueries);
  const auto tb0 = Clock::now();
  idx.LookupBatch(queries.data(), kQueries, batch_out.data());
  const auto tb1 = Clock::now();
  for (auto c : batch_out) {
    sink += c;
  }
  const double batch_per_s = static_cast<double>(kQueries) / Seconds(tb0, tb1);

  // Floor: dependent random reads in an array as large as the index.
  std::vector<std::uint32_t, portline::HugePageAllocator<std::uint32_t>> floor_array(
      idx.MemoryBytes() / 4);
  for (auto& v : floor_array) {
    v = static_cast<std::uint32_t>(rng() % floor_array.size());
  }
  std::uint32_t cursor = 0;
  const auto t4 = Clock::now();
  for (std::size_t i = 0; i < kQueries; ++i) {
    cursor = floor_array[(cursor + static_cast<std::uint32_t>(i)) % floor_array.size()];
  }
  const auto t5 = Clock::now();
  const double floor_per_s = static_cast<double>(kQueries) / Seconds(t4, t5);
  std::printf(
      "throughput: %.1f M lookups/s on one core one at a time, %.1f M/s batched "
      "(goal >= 10 M/s); floor (dependent random read) %.1f M/s; ratios %.2f / %.2f\n",
      lookups_per_s / 1e6, batch_per_s / 1e6, floor_per_s / 1e6, lookups_per_s / floor_per_s,
      batch_per_s / floor_per_s);

  // Latency of single lookups (timer overhead included and reported).
  constexpr std::size_t kTimed = 1'000'000;
  std::vector<double> lat(kTimed);
  std::vector<double> overhead(kTimed);
  for (std::size_t i = 0; i < kTimed; ++i) {
    const auto a = Clock::now();
    sink += idx.Lookup(queries[(i * 7919) % kQueries]).value_or(0);
    const auto c = Clock::now();
    lat[i] = std::chrono::duration<double, std::nano>(c - a).count();
    const auto d = Clock::now();
    const auto e = Clock::now();
    overhead[i] = std::chrono::duration<double, std::nano>(e - d).count();
  }
  std::vector<double> floor_lat(kTimed);
  for (std::size_t i = 0; i < kTimed; ++i) {
    const auto a = Clock::now();
    cursor =
        floor_array[(cursor + static_cast<std::uint32_t>(i) * 2654435761U) % floor_array.size()];
    const auto c = Clock::now();
    floor_lat[i] = std::chrono::duration<double, std::nano>(c - a).count();
  }
  // What a bulk check pays per number: LookupBatch over 64 numbers at a time, each batch timed
  // and divided by 64 (its misses overlap; this is a cost per lookup, not a lone lookup's wait).
  constexpr std::size_t kBatch = 64;
  std::vector<double> amortized(kTimed / kBatch);
  std::vector<std::uint16_t> out64(kBatch);
  for (std::size_t b = 0; b < amortized.size(); ++b) {
    const std::size_t at = (b * 7919 * kBatch) % (kQueries - kBatch);
    const auto a = Clock::now();
    idx.LookupBatch(queries.data() + at, kBatch, out64.data());
    const auto c = Clock::now();
    sink += out64[b % kBatch];
    amortized[b] = std::chrono::duration<double, std::nano>(c - a).count() / kBatch;
  }
  Percentiles("timer alone", overhead, [] { return ""; });
  Percentiles("floor: one random read", floor_lat, [] { return "(timer included)"; });
  Percentiles("lookup (timer included)", lat, [] { return "(goal p50 <= 100 ns, p99 <= 1 us)"; });
  Percentiles("per lookup, batches of 64", amortized, [] { return "(batch time / 64)"; });
  std::printf("checksum %llu %u\n", static_cast<unsigned long long>(sink), cursor);
  return 0;
}
