// libFuzzer target for the LNP data an operator loads: a carrier registry CSV, a blank line,
// then an LNP CSV (prefix/block/ported rows). When both load, every number the rows name is
// looked up, singly and in a batch, and the two answers must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "numbering/carriers.hpp"
#include "numbering/lnp.hpp"

using portline::numbering::CarrierRegistry;
using portline::numbering::LnpIndex;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16 * 1024) {
    return 0;  // each load builds a full index; long inputs only slow the search
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t split = bytes.find("\n\n");
  std::string_view lnp = bytes;
  std::optional<CarrierRegistry> own;
  if (split != std::string_view::npos) {
    std::istringstream registry_in{std::string(bytes.substr(0, split))};
    if (auto loaded = CarrierRegistry::LoadCsv(registry_in)) {
      own = std::move(*loaded);
      lnp = bytes.substr(split + 2);
    }
  }
  const CarrierRegistry& registry = own ? *own : CarrierRegistry::Default();
  std::istringstream in{std::string(lnp)};
  auto index = LnpIndex::LoadCsv(in, registry);
  if (!index) {
    return 0;
  }
  std::vector<std::uint64_t> numbers;
  std::uint64_t digits = 0;
  for (char c : lnp) {
    if (c >= '0' && c <= '9') {
      digits = (digits * 10 + static_cast<std::uint64_t>(c - '0')) % 10000000000ULL;
    } else if (digits != 0) {
      numbers.push_back(digits);
      digits = 0;
    }
  }
  numbers.push_back(digits);
  std::vector<std::uint16_t> batch(numbers.size());
  index->LookupBatch(numbers.data(), numbers.size(), batch.data());
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (index->Lookup(numbers[i]).value_or(0) != batch[i]) {
      std::abort();
    }
  }
  return 0;
}
