// libFuzzer target for SIP/SIPS/TEL URI parsing and parameter lookup.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/uri.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto uri = portline::sip::ParseUri(input);
  if (!uri) {
    return 0;
  }
  (void)uri->Transport();
  (void)uri->Param("lr");
  (void)uri->HostIsIp();
  (void)portline::sip::Unescape(uri->user);
  // URI → text → URI → text is stable (text may differ from the input only in a port's zeros).
  const std::string text = uri->ToString();
  auto again = portline::sip::ParseUri(text);
  if (!again || again->ToString() != text) {
    std::abort();
  }
  // Every view must point inside the input.
  for (std::string_view v : {uri->user, uri->host, uri->params, uri->headers, uri->opaque}) {
    if (!v.empty() && (v.data() < input.data() || v.data() + v.size() > input.data() + size)) {
      std::abort();
    }
  }
  return 0;
}
