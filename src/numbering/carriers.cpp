#include "numbering/carriers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>

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
                   PortingRules rules, Country country = Country::kUs) {
      return Carrier{0,    std::move(spid), std::move(ocn),  std::move(name),
                     kind, country,         std::move(rules)};
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
        make("S401", "8401", "Maple Mobile (CA)", K::kWireless, {true, true, true, true, 1},
             Country::kCa),
        make("S402", "8402", "Laurentian Telecom (CA ILEC)", K::kWireline,
             {true, false, true, false, 7}, Country::kCa),
        make("S901", "5901", "Legacy Rural Cooperative", K::kWireline,
             {false, false, true, false, 15, "not supported"}),
    };
  }());
  return registry;
}

namespace {

// One CSV line into fields: commas separate, a field in double quotes may hold commas ("" is a
// quote). nullopt when a quote is left open.
std::optional<std::vector<std::string>> SplitCsv(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"' && out.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  if (quoted) {
    return std::nullopt;
  }
  for (std::string& f : out) {
    const auto b = f.find_first_not_of(" \t");
    const auto e = f.find_last_not_of(" \t\r");
    f = b == std::string::npos ? std::string() : f.substr(b, e - b + 1);
  }
  return out;
}

std::optional<bool> Flag(std::string_view v) {
  if (v == "yes" || v == "true") {
    return true;
  }
  if (v == "no" || v == "false") {
    return false;
  }
  return std::nullopt;
}

constexpr std::string_view kHeader =
    "spid,ocn,name,kind,country,foc_business_days,pin_required,account_number_required,"
    "fast_port,supported";

}  // namespace

Result<CarrierRegistry> CarrierRegistry::LoadCsv(std::istream& in) {
  std::vector<Carrier> carriers;
  std::vector<std::string> problems;
  auto problem = [&problems](int line, const std::string& what) {
    if (problems.size() < 20) {
      problems.push_back("line " + std::to_string(line) + ": " + what);
    }
  };
  bool header = false;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (const auto hash = line.find('#');
        hash != std::string::npos && line.find('"') == std::string::npos) {
      line.resize(hash);
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    auto fields = SplitCsv(line);
    if (!header) {
      std::string joined;
      for (const std::string& f : fields.value_or(std::vector<std::string>{})) {
        joined += (joined.empty() ? "" : ",") + f;
      }
      if (joined != kHeader) {
        problem(n, "the first line must be the header " + std::string(kHeader));
        break;
      }
      header = true;
      continue;
    }
    if (!fields || fields->size() != 10) {
      problem(n, "expected 10 fields (" + std::string(kHeader) + ")");
      continue;
    }
    const auto& f = *fields;
    Carrier c;
    c.spid = f[0];
    c.ocn = f[1];
    c.name = f[2];
    bool ok = true;
    auto bad = [&](const std::string& what) {
      problem(n, what);
      ok = false;
    };
    if (c.spid.size() != 4 || !std::all_of(c.spid.begin(), c.spid.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) != 0;
        })) {
      bad("spid '" + c.spid + "' must be 4 letters or digits");
    }
    if (c.name.empty() || c.name.size() > 100) {
      bad("name must be 1 to 100 characters");
    }
    if (f[3] == "wireless") {
      c.kind = CarrierKind::kWireless;
    } else if (f[3] == "wireline") {
      c.kind = CarrierKind::kWireline;
    } else if (f[3] == "voip") {
      c.kind = CarrierKind::kVoip;
    } else {
      bad("kind '" + f[3] + "' must be wireless, wireline or voip");
    }
    if (f[4] == "US") {
      c.country = Country::kUs;
    } else if (f[4] == "CA") {
      c.country = Country::kCa;
    } else {
      bad("country '" + f[4] + "' must be US or CA");
    }
    int days = -1;
    if (auto [p, ec] = std::from_chars(f[5].data(), f[5].data() + f[5].size(), days);
        ec != std::errc() || p != f[5].data() + f[5].size() || days < 0 || days > 60) {
      bad("foc_business_days '" + f[5] + "' must be a number of days from 0 to 60");
    }
    c.rules.foc_business_days = days;
    const auto pin = Flag(f[6]);
    const auto account = Flag(f[7]);
    const auto fast = Flag(f[8]);
    const auto supported = Flag(f[9]);
    if (!pin || !account || !fast || !supported) {
      bad("pin_required, account_number_required, fast_port and supported are yes or no");
    }
    c.rules.pin_required = pin.value_or(false);
    c.rules.account_number_required = account.value_or(true);
    c.rules.fast_port_eligible = fast.value_or(false);
    c.rules.supported = supported.value_or(true);
    if (!c.rules.supported) {
      c.rules.activation_window = "not supported";
    }
    if (std::any_of(carriers.begin(), carriers.end(),
                    [&c](const Carrier& o) { return o.spid == c.spid; })) {
      bad("spid " + c.spid + " is listed twice");
    }
    if (ok) {
      carriers.push_back(std::move(c));
    }
  }
  if (!header && problems.empty()) {
    problem(n, "the file is empty: the first line must be the header " + std::string(kHeader));
  }
  if (carriers.size() > 60000) {
    problem(n, "more than 60000 carriers");
  }
  if (!problems.empty()) {
    Error e{Errc::kInvalidArgument, "carrier registry: " + problems.front(), {}, {}, {}};
    for (const std::string& p : problems) {
      e.fields.push_back(FieldError{"INVALID_CARRIER", p, "carriers_file"});
    }
    return tl::unexpected(std::move(e));
  }
  return CarrierRegistry(std::move(carriers));
}

Result<CarrierRegistry> CarrierRegistry::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Fail(Errc::kInvalidArgument, "cannot read the carrier registry '" + path + "'");
  }
  return LoadCsv(in);
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
