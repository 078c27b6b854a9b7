#include "numbering/lnp.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>

#include "numbering/nanp.hpp"
#include "numbering/nanp_tables.hpp"

namespace portline::numbering {
namespace {
constexpr std::uint32_t kPrefixes = 1000000;

// splitmix64: the deterministic generator behind the default dataset.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}
}  // namespace

void LnpIndex::Builder::SetPrefix(std::uint32_t npanxx, std::uint16_t carrier) {
  prefix_.at(npanxx) = carrier;
}

void LnpIndex::Builder::AddBlock(std::uint32_t npanxx, int x, std::uint16_t carrier) {
  blocks_.push_back(
      ((static_cast<std::uint64_t>(npanxx) * 10U + static_cast<std::uint64_t>(x)) << 16U) |
      carrier);
}

void LnpIndex::Builder::AddPorted(std::uint64_t national, std::uint16_t carrier) {
  ported_.push_back((national << 16U) | carrier);
}

LnpIndex LnpIndex::Builder::Build() && {
  LnpIndex idx;
  idx.prefix_.assign(prefix_.begin(), prefix_.end());
  prefix_ = {};
  idx.assigned_ = static_cast<std::size_t>(std::count_if(idx.prefix_.begin(), idx.prefix_.end(),
                                                         [](std::uint16_t c) { return c != 0; }));
  // Blocks: sorted by key; a later entry for the same block wins.
  std::stable_sort(blocks_.begin(), blocks_.end(),
                   [](std::uint64_t a, std::uint64_t b) { return (a >> 16U) < (b >> 16U); });
  idx.block_bits_.assign(kPrefixes / 64 + 1, 0);
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    if (i + 1 < blocks_.size() && (blocks_[i + 1] >> 16U) == (blocks_[i] >> 16U)) {
      continue;
    }
    idx.blocks_.push_back(blocks_[i]);
    const auto prefix = static_cast<std::uint32_t>((blocks_[i] >> 16U) / 10U);
    idx.block_bits_[prefix / 64] |= std::uint64_t{1} << (prefix % 64);
  }
  blocks_ = {};
  // Ported numbers: radix by prefix (counting sort), then sort each bucket by line.
  std::stable_sort(ported_.begin(), ported_.end(),
                   [](std::uint64_t a, std::uint64_t b) { return (a >> 16U) < (b >> 16U); });
  idx.offsets_.assign(kPrefixes + 1, 0);
  idx.thousands_.assign(static_cast<std::size_t>(kPrefixes) * 10U, 0);
  idx.ported_.reserve(ported_.size());
  std::uint32_t current = 0;
  for (std::size_t i = 0; i < ported_.size(); ++i) {
    if (i + 1 < ported_.size() && (ported_[i + 1] >> 16U) == (ported_[i] >> 16U)) {
      continue;  // duplicates: the last one wins (stable sort kept insertion order)
    }
    const std::uint64_t national = ported_[i] >> 16U;
    const auto prefix = static_cast<std::uint32_t>(national / 10000U);
    const auto line = static_cast<std::uint32_t>(national % 10000U);
    while (current < prefix) {
      idx.offsets_[++current] = static_cast<std::uint32_t>(idx.ported_.size());
    }
    // Entries of thousand X start after those of 0..X-1: count them as they come.
    for (std::uint32_t x = line / 1000U + 1; x < 10; ++x) {
      ++idx.thousands_[static_cast<std::size_t>(prefix) * 10U + x];
    }
    idx.ported_.push_back((line << 16U) | static_cast<std::uint32_t>(ported_[i] & 0xFFFFU));
  }
  while (current < kPrefixes) {
    idx.offsets_[++current] = static_cast<std::uint32_t>(idx.ported_.size());
  }
  ported_ = {};
  return idx;
}

std::optional<std::uint16_t> LnpIndex::Lookup(std::uint64_t national) const {
  const auto prefix = static_cast<std::uint32_t>(national / 10000U);
  if (prefix >= kPrefixes) {
    return std::nullopt;
  }
  const auto line = static_cast<std::uint32_t>(national % 10000U);
  const std::uint32_t x = line / 1000U;
  const std::uint32_t* bucket = ported_.data() + offsets_[prefix];
  const std::uint32_t* bucket_end = ported_.data() + offsets_[prefix + 1];
  const std::size_t t = static_cast<std::size_t>(prefix) * 10U + x;
  const std::uint32_t* begin = bucket + thousands_[t];
  const std::uint32_t* end = x == 9 ? bucket_end : bucket + thousands_[t + 1];
  if (begin != end) {
    const std::uint32_t key = line << 16U;
    const std::uint32_t* it = std::lower_bound(begin, end, key);
    if (it != end && (*it >> 16U) == line) {
      return static_cast<std::uint16_t>(*it & 0xFFFFU);
    }
  }
  if ((block_bits_[prefix / 64] >> (prefix % 64)) & 1U) {
    const std::uint64_t key = static_cast<std::uint64_t>(prefix) * 10U + line / 1000U;
    const auto it = std::lower_bound(blocks_.begin(), blocks_.end(), key << 16U);
    if (it != blocks_.end() && (*it >> 16U) == key) {
      return static_cast<std::uint16_t>(*it & 0xFFFFU);
    }
  }
  const std::uint16_t c = prefix_[prefix];
  return c == 0 ? std::nullopt : std::optional<std::uint16_t>(c);
}

void LnpIndex::LookupBatch(const std::uint64_t* numbers, std::size_t n, std::uint16_t* out) const {
  // Two-stage software pipeline: prefetch the bucket bounds of number i + 16, then the slice
  // of number i + 8 (whose bounds arrived meanwhile), then answer number i.
  constexpr std::size_t kFar = 12;
  constexpr std::size_t kNear = 6;
  auto bounds = [this](std::uint64_t national, std::size_t& t, std::uint32_t& prefix) {
    prefix = static_cast<std::uint32_t>(national / 10000U);
    t = static_cast<std::size_t>(prefix) * 10U + (national % 10000U) / 1000U;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kFar < n && numbers[i + kFar] / 10000U < kPrefixes) {
      std::size_t t = 0;
      std::uint32_t prefix = 0;
      bounds(numbers[i + kFar], t, prefix);
      __builtin_prefetch(&offsets_[prefix]);
      __builtin_prefetch(&thousands_[t]);
    }
    if (i + kNear < n && numbers[i + kNear] / 10000U < kPrefixes) {
      std::size_t t = 0;
      std::uint32_t prefix = 0;
      bounds(numbers[i + kNear], t, prefix);
      __builtin_prefetch(ported_.data() + offsets_[prefix] + thousands_[t]);
    }
    out[i] = Lookup(numbers[i]).value_or(0);
  }
}

std::size_t LnpIndex::MemoryBytes() const {
  return prefix_.capacity() * sizeof(std::uint16_t) + blocks_.capacity() * sizeof(std::uint64_t) +
         thousands_.capacity() * sizeof(std::uint16_t) +
         offsets_.capacity() * sizeof(std::uint32_t) + ported_.capacity() * sizeof(std::uint32_t) +
         block_bits_.capacity() * sizeof(std::uint64_t);
}

LnpIndex LnpIndex::GenerateDefault(const CarrierRegistry& carriers) {
  // Carriers by country; weights give wireless the largest share, as in the real network.
  std::vector<std::uint16_t> us;
  std::vector<std::uint16_t> ca;
  for (const auto& c : carriers.all()) {
    if (c.id == 0) {
      continue;
    }
    (c.country == Country::kCa ? ca : us).push_back(c.id);
  }
  Builder b;
  for (std::uint32_t npa = 200; npa < 1000; ++npa) {
    const std::uint8_t region = tables::kNpaRegion[npa];
    if (region == 255) {
      continue;
    }
    const std::string_view code = tables::kRegions[region];
    const auto& pool = code == "CA" ? ca : us;
    if ((code != "US" && code != "CA") || pool.empty()) {
      continue;
    }
    for (std::uint32_t nxx = 200; nxx < 1000; ++nxx) {
      const std::uint32_t p = npa * 1000 + nxx;
      if (((tables::kValidPrefix[p / 64] >> (p % 64)) & 1U) == 0) {
        continue;
      }
      const std::uint64_t h = Mix(p);
      b.SetPrefix(p, pool[h % pool.size()]);
      if ((h >> 20U) % 8 == 0) {  // 1 in 8 prefixes is pooled into thousands blocks
        for (int x = 0; x < 10; ++x) {
          const std::uint64_t hx = Mix(h + static_cast<std::uint64_t>(x));
          if (hx % 3 == 0) {
            b.AddBlock(p, x, pool[(hx >> 8U) % pool.size()]);
          }
        }
      }
      // A deterministic sample of ported numbers: 4 per prefix.
      for (int k = 0; k < 4; ++k) {
        const std::uint64_t hk = Mix(h ^ (static_cast<std::uint64_t>(k) * 0x51ED27U));
        b.AddPorted(static_cast<std::uint64_t>(p) * 10000U + hk % 10000U,
                    pool[(hk >> 16U) % pool.size()]);
      }
    }
  }
  return std::move(b).Build();
}

Result<LnpIndex> LnpIndex::LoadCsv(std::istream& in, const CarrierRegistry& carriers) {
  Builder b;
  std::vector<FieldError> problems;
  std::string line;
  std::size_t n = 0;
  auto problem = [&](std::string message) {
    if (problems.size() < 20) {
      problems.push_back({"INVALID_LNP_ROW", "line " + std::to_string(n) + ": " + message,
                          "line " + std::to_string(n)});
    }
  };
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const auto c1 = line.find(',');
    const auto c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos || line.find(',', c2 + 1) != std::string::npos) {
      problem("expected KIND,KEY,SPID");
      continue;
    }
    const std::string kind = line.substr(0, c1);
    const std::string key = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string spid = line.substr(c2 + 1);
    const Carrier* carrier = carriers.BySpid(spid);
    if (carrier == nullptr) {
      problem("unknown carrier SPID '" + spid + "'");
      continue;
    }
    const std::size_t want =
        kind == "prefix" ? 6 : (kind == "block" ? 7 : (kind == "ported" ? 10 : 0));
    if (want == 0) {
      problem("unknown kind '" + kind + "' (use prefix, block or ported)");
      continue;
    }
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), value);
    if (key.size() != want || ec != std::errc{} || ptr != key.data() + key.size() || key[0] < '2' ||
        key[3] < '2') {
      problem(kind + " key must be " + std::to_string(want) +
              " digits of a North American number (NPA and NXX from 2)");
      continue;
    }
    if (kind == "prefix") {
      b.SetPrefix(static_cast<std::uint32_t>(value), carrier->id);
    } else if (kind == "block") {
      b.AddBlock(static_cast<std::uint32_t>(value / 10), static_cast<int>(value % 10), carrier->id);
    } else {
      b.AddPorted(value, carrier->id);
    }
  }
  if (!problems.empty()) {
    Error e;
    e.code = Errc::kInvalidArgument;
    e.api_code = "INVALID_LNP_DATA";
    e.message = problems.front().message;
    e.fields = std::move(problems);
    return tl::unexpected(std::move(e));
  }
  LnpIndex index = std::move(b).Build();
  index.imported_ = true;  // real data, not the generated default
  return index;
}

}  // namespace portline::numbering

namespace portline::numbering {

Result<LnpIndex> LnpIndex::LoadFileOrDefault(const std::string& path,
                                             const CarrierRegistry& carriers) {
  if (path.empty()) {
    return GenerateDefault(carriers);
  }
  std::ifstream in(path);
  if (!in) {
    return Fail(Errc::kInvalidArgument, "cannot read LNP file '" + path + "'");
  }
  return LoadCsv(in, carriers);
}

}  // namespace portline::numbering
