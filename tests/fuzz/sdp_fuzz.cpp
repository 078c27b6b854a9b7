// libFuzzer target for the SDP parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/sdp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto sdp = portline::sip::ParseSdp(input);
  if (!sdp) {
    return 0;
  }
  for (const auto& m : sdp->media) {
    (void)m.CodecNames();
  }
  // What parsed must format to SDP that parses and formats the same way again.
  const std::string formatted = portline::sip::FormatSdp(*sdp);
  auto again = portline::sip::ParseSdp(formatted);
  if (!again || portline::sip::FormatSdp(*again) != formatted) {
    std::abort();
  }
  return 0;
}
