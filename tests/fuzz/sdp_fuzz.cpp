// libFuzzer target for the SDP parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sip/sdp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto sdp = portline::sip::ParseSdp(input);
  if (sdp) {
    for (const auto& m : sdp->media) {
      (void)m.CodecNames();
    }
  }
  return 0;
}
