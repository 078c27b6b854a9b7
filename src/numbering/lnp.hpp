#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/huge_pages.hpp"
#include "numbering/carriers.hpp"

namespace portline::numbering {

/// Who serves a number now: individually ported numbers, then NPA-NXX-X thousands blocks, then
/// NPA-NXX code assignments. Immutable once built; lookups are lock-free and thread-safe.
///
/// Layout: a carrier id per NPA-NXX (1M × 2 bytes), sorted thousands blocks, and ported numbers
/// bucketed by NPA-NXX — an offset table (1M × 4 bytes) into one array of 4-byte entries
/// (line << 16 | carrier), plus where each thousand (X) of a bucket starts (10M × 2 bytes). A
/// lookup reads the offset, the thousand's bounds, and binary-searches only that slice (about
/// N / 3.2M entries). 4 bytes per ported number plus 26 MB fixed, on huge pages.
class LnpIndex {
 public:
  class Builder {
   public:
    void SetPrefix(std::uint32_t npanxx, std::uint16_t carrier);
    void AddBlock(std::uint32_t npanxx, int x, std::uint16_t carrier);
    void AddPorted(std::uint64_t national, std::uint16_t carrier);  // NPANXXXXXX
    void ReservePorted(std::size_t n) { ported_.reserve(n); }
    /// Sorts and packs. A number ported twice keeps its last carrier.
    [[nodiscard]] LnpIndex Build() &&;

   private:
    std::vector<std::uint16_t> prefix_ = std::vector<std::uint16_t>(1000000, 0);
    std::vector<std::uint64_t> blocks_;  // (npanxx * 10 + x) << 16 | carrier
    std::vector<std::uint64_t> ported_;  // national << 16 | carrier
  };

  /// Carrier id serving the number, or nullopt when the NPA-NXX is not assigned.
  [[nodiscard]] std::optional<std::uint16_t> Lookup(std::uint64_t national) const;

  /// Lookup of many numbers at once: the same answers as Lookup, with the memory accesses of
  /// later numbers prefetched while earlier ones are answered (independent misses overlap).
  /// `out` must be as long as `numbers`; 0 means unassigned.
  void LookupBatch(const std::uint64_t* numbers, std::size_t n, std::uint16_t* out) const;

  [[nodiscard]] std::size_t ported_count() const { return ported_.size(); }
  [[nodiscard]] std::size_t block_count() const { return blocks_.size(); }
  [[nodiscard]] std::size_t assigned_prefixes() const { return assigned_; }
  [[nodiscard]] std::size_t MemoryBytes() const;
  /// Loaded from an LNP file (LoadCsv), not the generated default.
  [[nodiscard]] bool imported() const { return imported_; }

  /// The embedded default: every valid US/CA NPA-NXX (from the numbering tables) gets a
  /// plausible carrier of the default registry, deterministically; some prefixes are split
  /// into thousands blocks, and a deterministic sample of numbers is ported.
  [[nodiscard]] static LnpIndex GenerateDefault(const CarrierRegistry& carriers);

  /// Loads the CSV format documented in docs/operations.md:
  ///   prefix,NPANXX,SPID   block,NPANXXX,SPID   ported,NPANXXXXXX,SPID   (# comments)
  /// Every problem is reported with its line number (up to 20).
  [[nodiscard]] static Result<LnpIndex> LoadCsv(std::istream& in, const CarrierRegistry& carriers);
  /// LoadCsv of the file at `path`, or GenerateDefault when `path` is empty.
  [[nodiscard]] static Result<LnpIndex> LoadFileOrDefault(const std::string& path,
                                                          const CarrierRegistry& carriers);

 private:
  template <typename T>
  using HugeVector = std::vector<T, HugePageAllocator<T>>;
  HugeVector<std::uint16_t> prefix_;
  std::vector<std::uint64_t> blocks_;      // sorted (npanxx * 10 + x) << 16 | carrier
  HugeVector<std::uint32_t> offsets_;      // 1,000,001 entries
  HugeVector<std::uint16_t> thousands_;    // per (prefix, X): start of X's slice in the bucket
  HugeVector<std::uint32_t> ported_;       // line << 16 | carrier, by prefix then line
  std::vector<std::uint64_t> block_bits_;  // prefixes that have thousands blocks
  std::size_t assigned_ = 0;
  bool imported_ = false;
};

/// Holds the current index; Replace() swaps in a new one without stopping lookups.
class LnpService {
 public:
  explicit LnpService(std::shared_ptr<const LnpIndex> index) : index_(std::move(index)) {}
  [[nodiscard]] std::shared_ptr<const LnpIndex> Current() const {
    std::lock_guard lock(mutex_);
    return index_;
  }
  void Replace(std::shared_ptr<const LnpIndex> index) {
    std::lock_guard lock(mutex_);
    index_ = std::move(index);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const LnpIndex> index_;
};

}  // namespace portline::numbering
