#include "numbering/carriers.hpp"

namespace portline::numbering {

std::string_view KindName(CarrierKind k) {
  switch (k) {
    case CarrierKind::kWireless:
      return "wireless";
    case CarrierKind::kWireline:
      return "wireline";
    case CarrierKind::kVoip:
      return "voip";
  }
  return "wireline";
}

CarrierRegistry::CarrierRegistry(std::vector<Carrier> carriers) {
  carriers_.push_back(Carrier{});  // id 0: unknown
  for (auto& c : carriers) {
    c.id = static_cast<std::uint16_t>(carriers_.size());
    if (c.kind == CarrierKind::kWireless) {
      c.rules.pin_required = true;  // all wireless carriers require a port-out PIN
    }
    carriers_.push_back(std::move(c));
  }
}

const CarrierRegistry& CarrierRegistry::Default() {
  // The simulated carrier network: fictional carriers with the porting behaviour of their
  // real-world kinds (wireless: PIN, fast; ILEC: slow FOC, account number; cable/VoIP: fast).
  static const CarrierRegistry registry([] {
    auto make = [](std::string spid, std::string ocn, std::string name, CarrierKind kind,
                   PortingRules rules) {
      return Carrier{0, std::move(spid), std::move(ocn), std::move(name), kind, std::move(rules)};
    };
    using K = CarrierKind;
    return std::vector<Carrier>{
        make("S101", "6101", "Summit Wireless", K::kWireless, {true, true, true, true, 1}),
        make("S102", "6102", "Meridian Mobile", K::kWireless, {true, true, true, true, 1}),
        make("S103", "6103", "Pinecrest Cellular", K::kWireless, {true, true, true, false, 2}),
        make("S201", "9201", "Atlas Bell (ILEC)", K::kWireline, {true, false, true, false, 7}),
        make("S202", "9202", "Great Plains Telephone (ILEC)", K::kWireline,
             {true, false, true, false, 10}),
        make("S203", "9203", "Harbor Exchange Carrier (CLEC)", K::kWireline,
             {true, false, true, false, 5}),
        make("S301", "7301", "Keystone Cable Voice", K::kVoip, {true, false, true, true, 3}),
        make("S302", "7302", "Northwind VoIP", K::kVoip, {true, false, false, true, 2}),
        make("S303", "7303", "Bluewave Communications", K::kVoip, {true, false, true, false, 4}),
        make("S401", "8401", "Maple Mobile (CA)", K::kWireless, {true, true, true, true, 1}),
        make("S402", "8402", "Laurentian Telecom (CA ILEC)", K::kWireline,
             {true, false, true, false, 7}),
        make("S901", "5901", "Legacy Rural Cooperative", K::kWireline,
             {false, false, true, false, 15, "not supported"}),
    };
  }());
  return registry;
}

const Carrier* CarrierRegistry::Get(std::uint16_t id) const {
  return id > 0 && id < carriers_.size() ? &carriers_[id] : nullptr;
}

const Carrier* CarrierRegistry::BySpid(std::string_view spid) const {
  for (std::size_t i = 1; i < carriers_.size(); ++i) {
    if (carriers_[i].spid == spid) {
      return &carriers_[i];
    }
  }
  return nullptr;
}

}  // namespace portline::numbering
