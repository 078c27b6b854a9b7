// libFuzzer target for the SIP message layer: framing, every header parser (through
// Validate(kFull), which also parses an SDP body), the typed accessors, and a response built
// from whatever parsed. One entry point runs them all, as reSIProcate's fuzzStack does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sip/message.hpp"
#include "sip/transaction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)portline::sip::FrameLength(input, 4096, 4096);
  for (auto framing : {portline::sip::Framing::kDatagram, portline::sip::Framing::kStream}) {
    auto m = portline::sip::ParseMessage(input, framing);
    if (!m) {
      continue;
    }
    (void)portline::sip::Validate(*m, portline::sip::Depth::kFull);
    (void)m->TopVia();
    (void)m->From();
    (void)m->To();
    (void)m->CSeq();
    (void)portline::sip::ServerKey(*m);
    (void)portline::sip::ClientKey(*m);
    for (const auto& h : m->Headers()) {
      (void)portline::sip::SplitList(h.value);
      (void)portline::sip::ParseAuth(h.value);
      (void)portline::sip::ParseNameAddr(h.value);
    }
    if (m->IsRequest()) {
      const std::string response = portline::sip::MakeResponse(*m, 200, "", "tag").Finish();
      (void)portline::sip::ParseMessage(response);
    }
  }
  return 0;
}
