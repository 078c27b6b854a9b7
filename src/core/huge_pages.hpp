#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace portline {

/// Allocator for large, randomly read arrays (the LNP index): allocations of 2 MiB or more are
/// mapped 2 MiB-aligned and advised MADV_HUGEPAGE, so a lookup costs one TLB entry per 2 MiB
/// instead of per 4 KiB (transparent huge pages are usually in "madvise" mode). Smaller ones use
/// std::allocator.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kHuge = std::size_t{2} << 20U;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>& /*other*/) noexcept {}  // NOLINT

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHuge) {
      return std::allocator<T>().allocate(n);
    }
    const std::size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
    void* raw =
        ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
      throw std::bad_alloc();
    }
    // Keep exactly [aligned, aligned + len): unmap the slack on both sides.
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
    if (aligned > start) {
      ::munmap(raw, aligned - start);
    }
    const std::uintptr_t tail = start + len + kHuge - (aligned + len);
    if (tail > 0) {
      ::munmap(reinterpret_cast<void*>(aligned + len), tail);
    }
    ::madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
    return reinterpret_cast<T*>(aligned);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHuge) {
      std::allocator<T>().deallocate(p, n);
      return;
    }
    ::munmap(p, (bytes + kHuge - 1) / kHuge * kHuge);
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace portline
