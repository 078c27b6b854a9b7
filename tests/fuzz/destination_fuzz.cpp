// libFuzzer target for the SIP destination parser (user input of /v1/sip/parse-destination,
// attach, update and trunks). Checks a parse → normalize → parse round trip as well.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "trunks/destination.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto first = portline::trunks::ParseDestination(input);
  if (!first) {
    return 0;
  }
  const std::string normalized = first->Normalized();
  auto second = portline::trunks::ParseDestination(normalized);
  if (!second || second->Normalized() != normalized) {
    std::abort();  // the normalized form must parse to itself
  }
  return 0;
}
