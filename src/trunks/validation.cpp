// The rules a SIP configuration must follow: field by field and across fields, every problem
// at once. Pure: nothing here reads storage.
#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>

#include "core/crypto.hpp"
#include "holdings/holdings.hpp"
#include "trunks/destination.hpp"
#include "trunks/internal.hpp"
#include "trunks/service.hpp"

namespace portline::trunks {
namespace json = boost::json;

bool IsPrintableToken(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

bool IsHeaderName(std::string_view s) {
  if (s.size() < 3 || s.size() > 64 || (s[0] != 'X' && s[0] != 'x') || s[1] != '-') {
    return false;
  }
  return std::all_of(s.begin() + 2, s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
  });
}

bool IsVariableName(std::string_view s) {
  if (s.empty() || s.size() > 64 ||
      (std::isalpha(static_cast<unsigned char>(s[0])) == 0 && s[0] != '_')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

// Cross-field rules on the settings a direction ends up with (trunk overlaid with its own).
void CheckEffective(const json::object& eff, std::string_view direction, std::string_view prefix,
                    FieldErrors& errors) {
  if (direction == "outbound" && !StringAt(eff, "sip_endpoint")) {
    errors.Add(FieldPath(prefix, "sip_endpoint"), "REQUIRED",
               "sip_endpoint is required for outbound (or attach with a trunk_id that has one)");
  }
  if (direction == "inbound" && EffectiveAuthMode(eff) == "register" &&
      !eff.contains("register_auth")) {
    errors.Add(FieldPath(prefix, "register_auth"), "REQUIRED",
               "register_auth {username, password} is required when auth_mode is register");
  }
}

tl::unexpected<Error> InvalidNumber(std::string_view field) {
  return FailCode(Errc::kInvalidArgument, "INVALID_PHONE_NUMBER",
                  std::string(field) + " must be an E.164 number such as +14150000000",
                  std::string(field));
}

// phone_number XOR phone_numbers: every entry must be a string; format problems are per number.
std::vector<std::string> NumbersOf(const json::object& body, FieldErrors& errors, std::size_t max) {
  std::vector<std::string> out;
  const auto* one = body.if_contains("phone_number");
  const auto* many = body.if_contains("phone_numbers");
  if ((one != nullptr) == (many != nullptr)) {
    errors.Add("phone_numbers", "REQUIRED", "give exactly one of phone_number or phone_numbers");
    return out;
  }
  if (one != nullptr) {
    if (!one->is_string()) {
      errors.Add("phone_number", "INVALID_TYPE", "phone_number must be a string");
    } else {
      out.emplace_back(one->get_string());
    }
    return out;
  }
  if (!many->is_array() || many->get_array().empty()) {
    errors.Add("phone_numbers", "INVALID_TYPE", "phone_numbers must be a non-empty array");
    return out;
  }
  if (many->get_array().size() > max) {
    errors.Add("phone_numbers", "TOO_MANY",
               "at most " + std::to_string(max) + " numbers per request (got " +
                   std::to_string(many->get_array().size()) + ")");
    return out;
  }
  std::size_t i = 0;
  for (const auto& n : many->get_array()) {
    if (!n.is_string()) {
      errors.Add("phone_numbers[" + std::to_string(i) + "]", "INVALID_TYPE",
                 "phone_numbers[" + std::to_string(i) + "] must be a string");
    } else {
      out.emplace_back(n.get_string());
    }
    ++i;
  }
  return out;
}

void CheckService(const json::object& body, FieldErrors& errors) {
  const auto service = errors.String(body, "service", 16);
  if (service && *service != "sip") {
    errors.Add("service", "INVALID_VALUE", "service must be \"sip\"");
  }
}

std::optional<std::string> NormalizeE164(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  if (s.size() < 8 || s.size() > 15 || s.front() < '1' || s.front() > '9' ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return "+" + std::string(s);
}

json::object SipService::ValidateSettings(const json::object& in, std::string_view prefix,
                                          Kind kind, FieldErrors& errors) const {
  json::object out;
  if (kind == Kind::kOutbound) {
    errors.RejectUnknown(in, {"type", "sip_endpoint", "headers", "options"}, prefix);
  } else if (kind == Kind::kInbound) {
    errors.RejectUnknown(
        in, {"type", "sip_endpoint", "auth_mode", "register_auth", "headers", "options"}, prefix);
  }
  if (const auto* ep = in.if_contains("sip_endpoint")) {
    const std::string path = FieldPath(prefix, "sip_endpoint");
    if (ep->is_null()) {
      out["sip_endpoint"] = nullptr;
    } else if (!ep->is_string()) {
      errors.Add(path, "INVALID_TYPE", path + " must be a string");
    } else if (auto d = ParseDestination(ep->get_string()); !d) {
      errors.Add(path, "INVALID_DESTINATION", path + ": " + d.error().message);
    } else {
      out["sip_endpoint"] = d->Normalized();
    }
  }
  if (const auto mode = errors.OptString(in, "auth_mode", 16, prefix)) {
    if (*mode != "ip" && *mode != "register") {
      errors.Add(FieldPath(prefix, "auth_mode"), "INVALID_VALUE",
                 FieldPath(prefix, "auth_mode") + " must be \"ip\" or \"register\"");
    } else {
      out["auth_mode"] = *mode;
    }
  }
  if (const auto* ra = errors.OptObject(in, "register_auth", prefix)) {
    const std::string rp = FieldPath(prefix, "register_auth");
    errors.RejectUnknown(*ra, {"username", "password"}, rp);
    const auto user = errors.String(*ra, "username", 64, rp);
    const auto pass = errors.String(*ra, "password", 128, rp);
    if (user &&
        (user->empty() || !IsPrintableToken(*user) || user->find(':') != std::string::npos)) {
      errors.Add(rp + ".username", "INVALID_VALUE",
                 rp + ".username must be 1 to 64 printable characters without spaces or ':'");
    } else if (pass && (pass->size() < 8 || !IsPrintableToken(*pass))) {
      errors.Add(rp + ".password", "INVALID_VALUE",
                 rp + ".password must be 8 to 128 printable characters without spaces");
    } else if (user && pass) {
      out["register_auth"] = json::object{{"username", *user}, {"password", box_.Seal(*pass)}};
    }
  }
  if (const auto* opts = errors.OptObject(in, "options", prefix)) {
    const std::string op = FieldPath(prefix, "options");
    errors.RejectUnknown(*opts,
                         {"port", "transport", "secure_media", "sip_username", "sip_password"}, op);
    json::object o;
    if (auto port = errors.OptInt(*opts, "port", 1, 65535, op)) {
      o["port"] = *port;
    }
    if (auto t = errors.OptString(*opts, "transport", 8, op)) {
      if (*t != "udp" && *t != "tcp" && *t != "tls") {
        errors.Add(op + ".transport", "INVALID_VALUE",
                   op + ".transport must be \"udp\", \"tcp\" or \"tls\"");
      } else {
        o["transport"] = *t;
      }
    }
    if (auto sm = errors.OptBool(*opts, "secure_media", op)) {
      o["secure_media"] = *sm;
    }
    if (auto u = errors.OptString(*opts, "sip_username", 64, op)) {
      if (u->empty() || !IsPrintableToken(*u)) {
        errors.Add(op + ".sip_username", "INVALID_VALUE",
                   op + ".sip_username must be 1 to 64 printable characters without spaces");
      } else {
        o["sip_username"] = *u;
      }
    }
    if (auto p = errors.OptString(*opts, "sip_password", 128, op)) {
      if (p->empty()) {
        errors.Add(op + ".sip_password", "INVALID_VALUE", op + ".sip_password must not be empty");
      } else {
        o["sip_password"] = box_.Seal(*p);
      }
    }
    out["options"] = std::move(o);
  }
  if (const auto* h = in.if_contains("headers")) {
    const std::string hp = FieldPath(prefix, "headers");
    json::array mappings;
    std::set<std::string> seen;
    auto add = [&](std::string_view key, const json::value& value, const std::string& path) {
      if (!value.is_string() || !IsVariableName(value.get_string())) {
        errors.Add(path, "INVALID_VALUE",
                   path + " must map to a variable name (letters, digits, _; ≤ 64)");
        return;
      }
      if (!IsHeaderName(key)) {
        errors.Add(path, "INVALID_HEADER",
                   path + ": '" + std::string(key) + "' is not a custom X- header name");
        return;
      }
      std::string lower(key);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!seen.insert(lower).second) {
        errors.Add(path, "DUPLICATE_HEADER", path + ": '" + std::string(key) + "' is mapped twice");
        return;
      }
      if (OneOf(value.get_string(), kReservedVariables)) {
        return;  // reserved variable names are ignored, as Bland does
      }
      mappings.push_back(
          json::object{{"type", "custom"}, {"key", key}, {"value", value.get_string()}});
    };
    if (h->is_null()) {
      out["headers"] = nullptr;
    } else if (h->is_object()) {
      if (h->get_object().size() > kMaxHeaderMappings) {
        errors.Add(hp, "TOO_MANY", hp + ": at most 15 header mappings");
      } else {
        for (const auto& kv : h->get_object()) {
          add(kv.key(), kv.value(), hp + "." + std::string(kv.key()));
        }
      }
    } else if (h->is_array()) {
      if (h->get_array().size() > kMaxHeaderMappings) {
        errors.Add(hp, "TOO_MANY", hp + ": at most 15 header mappings");
      } else {
        std::size_t i = 0;
        for (const auto& m : h->get_array()) {
          const std::string mp = hp + "[" + std::to_string(i++) + "]";
          if (!m.is_object()) {
            errors.Add(mp, "INVALID_TYPE", mp + " must be {\"type\", \"key\", \"value\"}");
            continue;
          }
          const auto& mo = m.get_object();
          errors.RejectUnknown(mo, {"type", "key", "value"}, mp);
          const auto type = errors.OptString(mo, "type", 16, mp).value_or("custom");
          if (type != "custom") {
            errors.Add(mp + ".type", "INVALID_VALUE", mp + ".type must be \"custom\"");
          }
          const auto key = errors.String(mo, "key", 64, mp);
          const auto* value = mo.if_contains("value");
          if (key && value != nullptr) {
            add(*key, *value, mp);
          } else if (value == nullptr) {
            errors.Add(mp + ".value", "REQUIRED", mp + ".value is required");
          }
        }
      }
    } else {
      errors.Add(hp, "INVALID_TYPE", hp + " must be an object or an array of mappings");
    }
    if (!h->is_null()) {
      out["headers"] = std::move(mappings);
    }
  }
  if (kind == Kind::kOutbound) {
    out.erase("auth_mode");
    out.erase("register_auth");
  }
  return out;
}

Result<std::vector<std::string>> Directions(const json::object& body, FieldErrors& errors,
                                            bool required) {
  std::vector<std::string> out;
  const auto* dirs = body.if_contains("directions");
  if (dirs == nullptr || dirs->is_null()) {
    if (required) {
      errors.Add("directions", "REQUIRED", "directions is required");
    }
    return out;
  }
  if (!dirs->is_array() || dirs->get_array().empty() || dirs->get_array().size() > 2) {
    errors.Add("directions", "INVALID_TYPE",
               "directions must be an array of one inbound and/or one outbound direction");
    return out;
  }
  std::size_t i = 0;
  for (const auto& d : dirs->get_array()) {
    const std::string p = "directions[" + std::to_string(i++) + "]";
    if (!d.is_object()) {
      errors.Add(p, "INVALID_TYPE", p + " must be an object");
      out.emplace_back();
      continue;
    }
    const auto type = errors.String(d.get_object(), "type", 16, p);
    if (type && *type != "inbound" && *type != "outbound") {
      errors.Add(p + ".type", "INVALID_VALUE", p + ".type must be \"inbound\" or \"outbound\"");
    } else if (type && std::find(out.begin(), out.end(), *type) != out.end()) {
      errors.Add(p + ".type", "DUPLICATE_DIRECTION",
                 "one " + *type + " direction per configuration");
    }
    out.push_back(type.value_or(""));
  }
  return out;
}

Result<NumbersRequest> DecodeNumbersRequest(const json::object& body, FieldErrors& errors,
                                            bool directions_required) {
  errors.RejectUnknown(body,
                       {"phone_number", "phone_numbers", "service", "trunk_id", "directions"});
  CheckService(body, errors);
  NumbersRequest req;
  req.raw_numbers = NumbersOf(body, errors, kMaxNumbersPerAttach);
  req.trunk_id = errors.OptString(body, "trunk_id", 64);
  PORTLINE_ASSIGN_OR_RETURN(req.types, Directions(body, errors, directions_required));
  return req;
}

}  // namespace portline::trunks
