#include "trunks/service.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>

#include "core/crypto.hpp"
#include "holdings/holdings.hpp"
#include "trunks/destination.hpp"

namespace portline::trunks {
namespace json = boost::json;

struct SipService::ConfigRow {
  std::string id;
  std::string phone_number;
  std::string direction;
  std::string slot;
  std::optional<std::string> trunk_id;
  json::object settings;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

namespace {

constexpr std::string_view kConfigColumns =
    "id, phone_number, direction, slot, trunk_id, settings, created_at, updated_at";
constexpr std::array<std::string_view, 4> kReservedVariables = {"call_id", "phone_number",
                                                                "from_number", "to_number"};
constexpr std::array<std::string_view, 5> kCodecs = {"PCMU", "PCMA", "G.729", "Opus", "G.722"};
constexpr std::array<std::string_view, 3> kTriggers = {"unreachable", "auth_failure", "timeout"};

json::object ParseObject(const std::string& text) {
  auto v = json::parse(text);
  return v.is_object() ? std::move(v.as_object()) : json::object{};
}

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

template <std::size_t N>
bool OneOf(std::string_view v, const std::array<std::string_view, N>& options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

// base's keys, replaced by top's; "options" is merged key by key.
json::object Overlay(const json::object& base, const json::object& top) {
  json::object out = base;
  for (const auto& kv : top) {
    if (kv.key() == "options" && kv.value().is_object() && out.contains("options") &&
        out.at("options").is_object()) {
      auto& opts = out.at("options").as_object();
      for (const auto& o : kv.value().get_object()) {
        opts[o.key()] = o.value();
      }
    } else {
      out[kv.key()] = kv.value();
    }
  }
  return out;
}

std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::optional<std::string>(std::string(v->get_string()))
                                        : std::nullopt;
}

std::string EffectiveAuthMode(const json::object& eff) {
  return StringAt(eff, "auth_mode").value_or("ip");
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

json::object FailedEntry(std::string number, std::string reason, std::string message) {
  return json::object{{"phone_number", std::move(number)},
                      {"reason", std::move(reason)},
                      {"message", std::move(message)}};
}

}  // namespace

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

json::object SipService::View(std::string_view org, const ConfigRow& row,
                              const json::object* trunk_settings) const {
  const json::object eff =
      trunk_settings != nullptr ? Overlay(*trunk_settings, row.settings) : row.settings;
  json::object v;
  v["number"] = row.phone_number;
  v["id"] = row.id;
  v["org_id"] = org;
  v["direction"] = row.direction;
  v["trunk_id"] = row.trunk_id ? json::value(*row.trunk_id) : nullptr;
  const auto* ep = eff.if_contains("sip_endpoint");
  v["sip_endpoint"] = ep != nullptr ? *ep : nullptr;
  v["created_at"] = TimestampJson(row.created_at);
  v["updated_at"] = TimestampJson(row.updated_at);
  const auto* headers = eff.if_contains("headers");
  v["headers"] = headers != nullptr && headers->is_array() && !headers->get_array().empty()
                     ? *headers
                     : json::value(nullptr);
  json::object options;
  if (row.direction == "inbound") {
    options["auth_mode"] = EffectiveAuthMode(eff);
    if (const auto* ra = eff.if_contains("register_auth"); ra != nullptr && ra->is_object()) {
      options["register_auth"] =
          json::object{{"username", ra->get_object().at("username")}, {"password", kRedacted}};
    }
  }
  if (const auto* o = eff.if_contains("options"); o != nullptr && o->is_object()) {
    for (const auto& kv : o->get_object()) {
      options[kv.key()] = kv.key() == "sip_password" ? json::value(kRedacted) : kv.value();
    }
  }
  v["options"] = std::move(options);
  return v;
}

std::string SipService::PbxPassword(std::string_view org, std::string_view slot,
                                    std::string_view username) const {
  const std::string identity = std::string(org) + "|" +
                               (slot.empty() ? std::string("inline") : std::string(slot)) + "|" +
                               std::string(username);
  return box_.Derive("pbx-register-v1", identity);
}

Result<std::optional<json::object>> SipService::LoadTrunk(store::Connection& c,
                                                          std::string_view org,
                                                          std::string_view trunk_id) const {
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT settings FROM sip_trunks WHERE id = $1 AND org_id = $2", {trunk_id, org}));
  if (rows.empty()) {
    return std::optional<json::object>();
  }
  return std::optional<json::object>(ParseObject(rows[0].Text(0)));
}

namespace {
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
}  // namespace

namespace {
// The shared top level of attach and detach requests.
struct NumbersRequest {
  std::vector<std::string> raw_numbers;
  std::optional<std::string> trunk_id;
  std::vector<std::string> types;
};

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

json::object InvalidNumberEntry(const std::string& raw) {
  return FailedEntry(raw, "invalid_number",
                     "'" + raw + "' is not an E.164 number such as +14150000000");
}
}  // namespace

Result<json::value> SipService::Attach(std::string_view org, const json::object& body) {
  return AttachImpl(org, body, /*dry_run=*/false);
}

Result<void> SipService::ValidateAttach(std::string_view org, const json::object& config) {
  json::object body = config;
  body["phone_numbers"] = json::array{"+14155550100"};  // any number: only the config is checked
  PORTLINE_ASSIGN_OR_RETURN(auto checked, AttachImpl(org, body, /*dry_run=*/true));
  (void)checked;
  return {};
}

Result<json::value> SipService::AttachImpl(std::string_view org, const json::object& body,
                                           bool dry_run) {
  FieldErrors errors;
  PORTLINE_ASSIGN_OR_RETURN(auto request, DecodeNumbersRequest(body, errors, true));
  const auto& raw_numbers = request.raw_numbers;
  const auto& trunk_id = request.trunk_id;
  const auto& types = request.types;
  std::vector<json::object> settings;
  // Directions() reported a malformed list already; validate entries only when it accepted it.
  if (const auto* dirs = body.if_contains("directions");
      dirs != nullptr && dirs->is_array() && dirs->get_array().size() == types.size()) {
    std::size_t i = 0;
    for (const auto& d : dirs->get_array()) {
      const std::string p = "directions[" + std::to_string(i) + "]";
      const Kind kind = types[i] == "inbound" ? Kind::kInbound : Kind::kOutbound;
      settings.push_back(d.is_object() ? ValidateSettings(d.get_object(), p, kind, errors)
                                       : json::object{});
      if (kind == Kind::kInbound && d.is_object() && settings.back().contains("register_auth") &&
          StringAt(settings.back(), "auth_mode").value_or("ip") != "register") {
        errors.Add(p + ".register_auth", "INVALID_VALUE",
                   "register_auth is only used with auth_mode \"register\"");
      }
      ++i;
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }

  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  std::optional<json::object> trunk;
  if (trunk_id) {
    PORTLINE_ASSIGN_OR_RETURN(trunk, LoadTrunk(*lease, org, *trunk_id));
    if (!trunk) {
      return FailCode(Errc::kNotFound, "NOT_FOUND", "trunk '" + *trunk_id + "' not found",
                      "trunk_id");
    }
  }
  std::string pbx_username;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const json::object eff = trunk ? Overlay(*trunk, settings[i]) : settings[i];
    CheckEffective(eff, types[i], "directions[" + std::to_string(i) + "]", errors);
    if (types[i] == "inbound" && EffectiveAuthMode(eff) == "register" &&
        eff.contains("register_auth")) {
      pbx_username = std::string(eff.at("register_auth").at("username").as_string());
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  if (dry_run) {
    return json::value(nullptr);
  }

  const std::string slot = trunk_id.value_or("");
  const std::int64_t now = ToUnixMillis(clock_.Now());
  PORTLINE_ASSIGN_OR_RETURN(const std::string realm, holdings::RealmOf(*lease, org));
  json::array configured;
  json::array failed;
  std::set<std::string> done;
  for (const auto& raw : raw_numbers) {
    const auto number = NormalizeE164(raw);
    if (!number) {
      failed.push_back(InvalidNumberEntry(raw));
      continue;
    }
    if (!done.insert(*number).second) {
      continue;  // listed twice
    }
    // The number must be this organization's to configure: held by nobody (it is taken now),
    // by this organization, or in a port request of this organization.
    auto attach_one = [&](store::Connection& c) -> Result<bool> {
      PORTLINE_ASSIGN_OR_RETURN(
          const auto taken,
          holdings::Take(
              c,
              holdings::Claim{
                  realm, org, holdings::Status::kActive, holdings::Source::kAttach, {}, now},
              {*number}));
      if (!taken.empty()) {
        return false;
      }
      for (std::size_t i = 0; i < types.size(); ++i) {
        PORTLINE_RETURN_IF_ERROR(c.Execute(
            "INSERT INTO sip_configs (id, org_id, phone_number, direction, slot, trunk_id, "
            "settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
            "ON CONFLICT (org_id, phone_number, direction, slot) DO UPDATE SET "
            "settings = excluded.settings, updated_at = excluded.updated_at",
            {NewId("sipc", clock_.Now()), org, *number, types[i], slot,
             trunk_id ? store::Param(*trunk_id) : store::Param(nullptr),
             json::serialize(settings[i]), now}));
      }
      PORTLINE_ASSIGN_OR_RETURN(auto count,
                                c.Query("SELECT COUNT(*) FROM sip_configs WHERE org_id = $1 AND "
                                        "phone_number = $2",
                                        {org, *number}));
      if (count[0].Int(0) > static_cast<std::int64_t>(kMaxConfigsPerNumber)) {
        return Fail(Errc::kConflict, "limit");  // rolled back; reported per number below
      }
      return true;
    };
    auto ok = store::WithTransaction(*lease, attach_one);
    if (ok && *ok) {
      configured.emplace_back(*number);
    } else if (ok) {
      // Neutral: whoever holds it, the answer names nobody.
      failed.push_back(FailedEntry(*number, "number_unavailable",
                                   *number + " is in service on Portline under another account "
                                             "and cannot be attached"));
    } else if (ok.error().code == Errc::kConflict) {
      failed.push_back(
          FailedEntry(*number, "config_limit", "a number can have at most 10 SIP configurations"));
    } else {
      return tl::unexpected(ok.error());
    }
  }
  json::object data{{"configured", std::move(configured)}, {"failed", std::move(failed)}};
  if (!pbx_username.empty()) {
    data["register_password_for_pbx"] = PbxPassword(org, slot, pbx_username);
  }
  return data;
}

Result<json::value> SipService::Update(std::string_view org, const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"phone_number", "trunk_id", "updates", "service"});
  const auto raw = errors.String(body, "phone_number", 32);
  const auto trunk_id = errors.OptString(body, "trunk_id", 64);
  if (body.contains("service")) {
    CheckService(body, errors);
  }
  const auto* updates = errors.OptObject(body, "updates");
  std::string type;
  json::object changes;
  if (updates == nullptr) {
    errors.Add("updates", "REQUIRED", "updates is required");
  } else {
    type = errors.String(*updates, "type", 16, "updates").value_or("");
    if (!type.empty() && type != "inbound" && type != "outbound") {
      errors.Add("updates.type", "INVALID_VALUE",
                 "updates.type must be \"inbound\" or \"outbound\"");
    }
    changes = ValidateSettings(*updates, "updates",
                               type == "inbound" ? Kind::kInbound : Kind::kOutbound, errors);
  }
  std::optional<std::string> number;
  if (raw) {
    number = NormalizeE164(*raw);
    if (!number) {
      errors.Add("phone_number", "INVALID_PHONE_NUMBER",
                 "phone_number must be an E.164 number such as +14150000000");
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  const std::string slot = trunk_id.value_or("");
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto update = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT " + std::string(kConfigColumns) +
                               " FROM sip_configs WHERE org_id = $1 AND phone_number = $2 AND "
                               "direction = $3 AND slot = $4",
                           {org, *number, type, slot}));
    if (rows.empty()) {
      return FailCode(Errc::kNotFound, "NOT_FOUND",
                      "no " + type + " SIP configuration for " + *number +
                          (slot.empty() ? std::string() : " on trunk " + slot),
                      "phone_number");
    }
    const auto& r = rows[0];
    ConfigRow row{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptText(4), ParseObject(r.Text(5)),
                  r.Int(6),  r.Int(7)};
    if (StringAt(changes, "auth_mode") == std::optional<std::string>("ip")) {
      row.settings.erase("register_auth");
    }
    row.settings = Overlay(row.settings, changes);
    std::optional<json::object> trunk;
    if (row.trunk_id) {
      PORTLINE_ASSIGN_OR_RETURN(trunk, LoadTrunk(c, org, *row.trunk_id));
    }
    const json::object eff = trunk ? Overlay(*trunk, row.settings) : row.settings;
    FieldErrors effective_errors;
    CheckEffective(eff, type, "updates", effective_errors);
    if (!effective_errors.empty()) {
      return tl::unexpected(effective_errors.ToError());
    }
    row.updated_at = ToUnixMillis(clock_.Now());
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("UPDATE sip_configs SET settings = $1, updated_at = $2 WHERE id = $3",
                  {json::serialize(row.settings), row.updated_at, row.id}));
    json::object data = View(org, row, trunk ? &*trunk : nullptr);
    if (type == "inbound" && EffectiveAuthMode(eff) == "register" &&
        (changes.contains("auth_mode") || changes.contains("register_auth"))) {
      data["register_password_for_pbx"] =
          PbxPassword(org, slot, std::string(eff.at("register_auth").at("username").as_string()));
    }
    return json::value(std::move(data));
  };
  return store::WithTransaction(*lease, update);
}

Result<json::value> SipService::Detach(std::string_view org, const json::object& body) {
  FieldErrors errors;
  PORTLINE_ASSIGN_OR_RETURN(auto request, DecodeNumbersRequest(body, errors, false));
  const auto& raw_numbers = request.raw_numbers;
  const auto& trunk_id = request.trunk_id;
  auto& types = request.types;
  if (const auto* dirs = body.if_contains("directions"); dirs != nullptr && dirs->is_array()) {
    std::size_t i = 0;
    for (const auto& d : dirs->get_array()) {
      if (d.is_object()) {
        errors.RejectUnknown(d.get_object(), {"type"}, "directions[" + std::to_string(i) + "]");
      }
      ++i;
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  if (types.empty()) {
    types = {"inbound", "outbound"};
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  json::array detached;
  json::array not_configured;
  json::array failed;
  for (const auto& raw : raw_numbers) {
    const auto number = NormalizeE164(raw);
    if (!number) {
      failed.push_back(InvalidNumberEntry(raw));
      continue;
    }
    auto detach_one = [&](store::Connection& c) -> Result<json::array> {
      json::array removed;
      for (const auto& type : types) {
        PORTLINE_ASSIGN_OR_RETURN(
            auto n, trunk_id ? c.Execute("DELETE FROM sip_configs WHERE org_id = $1 AND "
                                         "phone_number = $2 AND direction = $3 AND slot = $4",
                                         {org, *number, type, *trunk_id})
                             : c.Execute("DELETE FROM sip_configs WHERE org_id = $1 AND "
                                         "phone_number = $2 AND direction = $3",
                                         {org, *number, type}));
        if (n > 0) {
          removed.emplace_back(type);
          PORTLINE_RETURN_IF_ERROR(c.Execute(
              "DELETE FROM sip_advanced WHERE org_id = $1 AND phone_number = $2 AND direction = $3 "
              "AND NOT EXISTS (SELECT 1 FROM sip_configs WHERE org_id = $1 AND phone_number = $2 "
              "AND direction = $3)",
              {org, *number, type}));
        }
      }
      if (!removed.empty()) {
        PORTLINE_RETURN_IF_ERROR(holdings::ReleaseIfUnattached(c, org, *number));
      }
      return removed;
    };
    PORTLINE_ASSIGN_OR_RETURN(auto removed, store::WithTransaction(*lease, detach_one));
    if (removed.empty()) {
      not_configured.emplace_back(*number);
    } else {
      detached.push_back(json::object{{"phone_number", *number}, {"directions", removed}});
    }
  }
  return json::object{{"detached", std::move(detached)},
                      {"not_configured", std::move(not_configured)},
                      {"failed", std::move(failed)}};
}

Result<json::value> SipService::Get(std::string_view org, const std::optional<std::string>& raw) {
  if (!raw) {
    return FailCode(Errc::kInvalidArgument, "REQUIRED", "phone_number is required", "phone_number");
  }
  const auto number = NormalizeE164(*raw);
  if (!number) {
    return InvalidNumber("phone_number");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT " + std::string(kConfigColumns) +
                                  " FROM sip_configs WHERE org_id = $1 AND phone_number = $2 "
                                  "ORDER BY slot, direction",
                              {org, *number}));
  if (rows.empty()) {
    return FailCode(Errc::kNotFound, "NOT_FOUND", "no SIP configuration for " + *number,
                    "phone_number");
  }
  std::map<std::string, json::object> trunks;
  json::value inbound = nullptr;
  json::value outbound = nullptr;
  json::array all;
  for (const auto& r : rows) {
    ConfigRow row{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptText(4), ParseObject(r.Text(5)),
                  r.Int(6),  r.Int(7)};
    const json::object* trunk = nullptr;
    if (row.trunk_id) {
      if (!trunks.count(*row.trunk_id)) {
        PORTLINE_ASSIGN_OR_RETURN(auto t, LoadTrunk(*lease, org, *row.trunk_id));
        trunks[*row.trunk_id] = t.value_or(json::object{});
      }
      trunk = &trunks[*row.trunk_id];
    }
    json::object view = View(org, row, trunk);
    if (row.direction == "inbound" && inbound.is_null()) {
      inbound = view;
    } else if (row.direction == "outbound" && outbound.is_null()) {
      outbound = view;
    }
    all.push_back(std::move(view));
  }
  json::object advanced{{"inbound", nullptr}, {"outbound", nullptr}};
  PORTLINE_ASSIGN_OR_RETURN(
      auto adv, lease->Query("SELECT direction, failover, codecs, alerts, updated_at FROM "
                             "sip_advanced WHERE org_id = $1 AND phone_number = $2",
                             {org, *number}));
  for (const auto& a : adv) {
    advanced[a.Text(0)] = json::object{
        {"failover_config", a.IsNull(1) ? json::value(nullptr) : json::parse(a.Text(1))},
        {"codec_config", a.IsNull(2) ? json::value(nullptr) : json::parse(a.Text(2))},
        {"alert_config", a.IsNull(3) ? json::value(nullptr) : json::parse(a.Text(3))},
        {"updated_at", TimestampJson(a.Int(4))}};
  }
  return json::object{{"inbound", std::move(inbound)},
                      {"outbound", std::move(outbound)},
                      {"configurations", std::move(all)},
                      {"advanced", std::move(advanced)}};
}

Result<json::value> SipService::ListNumbers(std::string_view org,
                                            const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto page, lease->Query("SELECT DISTINCT phone_number FROM sip_configs WHERE org_id = $1 "
                              "AND phone_number > $2 ORDER BY phone_number LIMIT $3",
                              {org, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  json::object data;
  data["next_cursor"] = nullptr;
  if (page.size() > static_cast<std::size_t>(limit)) {
    page.pop_back();
    data["next_cursor"] = page.back().Text(0);
  }
  json::array numbers;
  if (!page.empty()) {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, lease->Query("SELECT phone_number, direction, trunk_id, settings FROM "
                                "sip_configs WHERE org_id = $1 AND phone_number >= $2 AND "
                                "phone_number <= $3 ORDER BY phone_number, slot, direction",
                                {org, page.front().Text(0), page.back().Text(0)}));
    std::map<std::string, json::object> trunks;
    json::object* current = nullptr;
    for (const auto& r : rows) {
      if (current == nullptr || current->at("phone_number").as_string() != r.Text(0)) {
        numbers.push_back(json::object{{"phone_number", r.Text(0)},
                                       {"directions", json::array{}},
                                       {"sip_endpoint", nullptr},
                                       {"health_status", "unchecked"},
                                       {"trunk_ids", json::array{}}});
        current = &numbers.back().as_object();
      }
      auto settings = ParseObject(r.Text(3));
      if (const auto trunk_id = r.OptText(2)) {
        if (!trunks.count(*trunk_id)) {
          PORTLINE_ASSIGN_OR_RETURN(auto t, LoadTrunk(*lease, org, *trunk_id));
          trunks[*trunk_id] = t.value_or(json::object{});
        }
        settings = Overlay(trunks[*trunk_id], settings);
        auto& ids = current->at("trunk_ids").as_array();
        if (std::find(ids.begin(), ids.end(), json::value(*trunk_id)) == ids.end()) {
          ids.emplace_back(*trunk_id);
        }
      }
      auto& dirs = current->at("directions").as_array();
      if (std::find(dirs.begin(), dirs.end(), json::value(r.Text(1))) == dirs.end()) {
        dirs.emplace_back(r.Text(1));
      }
      const auto endpoint = StringAt(settings, "sip_endpoint");
      if (endpoint && (current->at("sip_endpoint").is_null() || r.Text(1) == "outbound")) {
        (*current)["sip_endpoint"] = *endpoint;
      }
    }
  }
  data["numbers"] = std::move(numbers);
  return data;
}

Result<json::value> SipService::ParseDestinationRequest(const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(body, {"input"});
  const auto input = errors.String(body, "input", 2048);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  auto d = ParseDestination(*input);
  if (!d) {
    return json::object{{"valid", false}, {"parsed", nullptr}, {"reason", d.error().message}};
  }
  json::object parsed{{"host", d->host}};
  if (d->port) {
    parsed["port"] = *d->port;
  }
  if (d->user) {
    parsed["user"] = *d->user;
  }
  if (d->transport) {
    parsed["transport"] = *d->transport;
  }
  parsed["is_private_ip"] = d->is_private_ip;
  parsed["normalized"] = d->Normalized();
  parsed["scheme"] = d->scheme;
  parsed["host_type"] = d->ipv6 ? "ipv6" : (d->host_is_ip ? "ipv4" : "hostname");
  parsed["srv_lookup"] = d->srv_lookup;
  parsed["effective_transport"] =
      d->effective_transport ? json::value(*d->effective_transport) : nullptr;
  parsed["default_port"] = d->default_port;
  return json::object{{"valid", true}, {"parsed", std::move(parsed)}};
}

namespace {
Result<const Region*> PickRegion(const Network& net, const std::optional<std::string>& region) {
  const std::string id = region.value_or(net.default_region);
  if (const Region* r = net.Find(id)) {
    return r;
  }
  std::string known;
  for (const auto& r : net.regions) {
    known += (known.empty() ? "" : ", ") + r.id;
  }
  return FailCode(Errc::kInvalidArgument, "UNKNOWN_REGION",
                  "unknown region '" + id + "'; known regions: " + known, "region");
}
}  // namespace

namespace {
json::array Unconfigured(const Region& r) {
  json::array out;
  for (const auto& key : r.unconfigured) {
    out.emplace_back(key);
  }
  return out;
}
}  // namespace

Result<json::value> SipService::FirewallIps(const std::optional<std::string>& region) const {
  PORTLINE_ASSIGN_OR_RETURN(const Region* r, PickRegion(network_, region));
  json::array ips;
  for (const auto& ip : r->ip_addresses) {
    ips.emplace_back(ip);
  }
  auto text_or_null = [](const std::string& v) {
    return v.empty() ? json::value() : json::value(v);
  };
  return json::object{{"region", r->id},
                      {"ip_addresses", std::move(ips)},
                      {"ports", json::object{{"sip", text_or_null(r->sip_ports)},
                                             {"rtp", text_or_null(r->rtp_ports)}}},
                      {"unconfigured", Unconfigured(*r)}};
}

Result<json::value> SipService::OutboundSetup(std::string_view org,
                                              const std::optional<std::string>& raw,
                                              const std::optional<std::string>& region) {
  PORTLINE_ASSIGN_OR_RETURN(const Region* r, PickRegion(network_, region));
  std::string transport = r->sip_transport;
  std::transform(transport.begin(), transport.end(), transport.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const bool known = !r->sip_server.empty() && r->sip_port > 0;
  json::object data{
      {"region", r->id},
      {"sip_server", r->sip_server.empty() ? json::value() : json::value(r->sip_server)},
      {"port", r->sip_port > 0 ? json::value(r->sip_port) : json::value()},
      {"transport", r->sip_transport.empty() ? json::value() : json::value(r->sip_transport)},
      {"instructions",
       known ? "Configure your PBX to send SIP INVITE requests to " + r->sip_server + ":" +
                   std::to_string(r->sip_port) + " over " + transport +
                   ". Whitelist the IP addresses from /v1/sip/firewall-ips."
             : std::string("This deployment has not said where customers send SIP yet: its "
                           "operator sets sip.public_host and sip.listen (see unconfigured).")},
      {"credentials", nullptr},
      {"unconfigured", Unconfigured(*r)}};
  if (raw) {
    PORTLINE_ASSIGN_OR_RETURN(auto config, Get(org, raw));
    const auto& inbound = config.at("inbound");
    if (inbound.is_object()) {
      const auto& opts = inbound.at("options").as_object();
      if (const auto* ra = opts.if_contains("register_auth")) {
        data["credentials"] = json::object{
            {"username", ra->at("username")}, {"password", kRedacted}, {"auth_mode", "register"}};
      }
    }
  }
  return data;
}

Result<json::value> SipService::PatchConfig(std::string_view org, const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"phone_number", "direction", "failover_config", "codec_config", "alert_config"});
  const auto raw = errors.String(body, "phone_number", 32);
  const auto direction = errors.String(body, "direction", 16);
  if (direction && *direction != "inbound" && *direction != "outbound") {
    errors.Add("direction", "INVALID_VALUE", "direction must be \"inbound\" or \"outbound\"");
  }
  std::optional<std::string> number;
  if (raw && !(number = NormalizeE164(*raw))) {
    errors.Add("phone_number", "INVALID_PHONE_NUMBER",
               "phone_number must be an E.164 number such as +14150000000");
  }
  std::optional<json::object> failover;
  std::optional<json::object> codecs;
  std::optional<json::object> alerts;
  if (const auto* f = errors.OptObject(body, "failover_config")) {
    const std::string p = "failover_config";
    errors.RejectUnknown(*f, {"enabled", "endpoints", "triggers", "failback"}, p);
    json::object out;
    out["enabled"] = errors.OptBool(*f, "enabled", p).value_or(true);
    json::array endpoints;
    const auto* eps = f->if_contains("endpoints");
    if (eps == nullptr || !eps->is_array() || eps->get_array().empty() ||
        eps->get_array().size() > 3) {
      errors.Add(p + ".endpoints", "INVALID_VALUE",
                 p + ".endpoints must list 1 to 3 servers (primary, secondary, tertiary)");
    } else {
      std::size_t i = 0;
      for (const auto& e : eps->get_array()) {
        const std::string ep = p + ".endpoints[" + std::to_string(i) + "]";
        ++i;
        if (!e.is_object()) {
          errors.Add(ep, "INVALID_TYPE", ep + " must be an object");
          continue;
        }
        const auto& eo = e.get_object();
        errors.RejectUnknown(eo, {"host", "port", "transport", "priority", "weight"}, ep);
        json::object item;
        if (auto host = errors.String(eo, "host", 253, ep)) {
          // A bare IPv6 address is fine here: this field holds only a host.
          const bool bare_v6 = host->find(':') != std::string::npos && host->front() != '[';
          auto d = ParseDestination(bare_v6 ? "[" + *host + "]" : *host);
          if (!d || d->user || d->port || !d->params.empty() || d->transport) {
            errors.Add(ep + ".host", "INVALID_HOST",
                       ep +
                           ".host must be a hostname or IP address (port and transport are "
                           "separate fields)" +
                           (d ? std::string() : ": " + d.error().message));
          } else {
            item["host"] = d->host;
          }
        }
        const auto transport = errors.OptString(eo, "transport", 8, ep).value_or("udp");
        if (transport != "udp" && transport != "tcp" && transport != "tls") {
          errors.Add(ep + ".transport", "INVALID_VALUE",
                     ep + ".transport must be \"udp\", \"tcp\" or \"tls\"");
        }
        item["port"] =
            errors.OptInt(eo, "port", 1, 65535, ep).value_or(transport == "tls" ? 5061 : 5060);
        item["transport"] = transport;
        item["priority"] =
            errors.OptInt(eo, "priority", 1, 65535, ep).value_or(static_cast<std::int64_t>(i));
        item["weight"] = errors.OptInt(eo, "weight", 1, 65535, ep).value_or(10);
        endpoints.push_back(std::move(item));
      }
    }
    out["endpoints"] = std::move(endpoints);
    json::array triggers;
    if (const auto* t = f->if_contains("triggers"); t != nullptr && !t->is_null()) {
      if (!t->is_array() || t->get_array().empty()) {
        errors.Add(p + ".triggers", "INVALID_VALUE", p + ".triggers must be a non-empty array");
      } else {
        for (const auto& tr : t->get_array()) {
          if (!tr.is_string() || !OneOf(tr.get_string(), kTriggers)) {
            errors.Add(p + ".triggers", "INVALID_VALUE",
                       p + ".triggers entries must be unreachable, auth_failure or timeout");
          } else if (std::find(triggers.begin(), triggers.end(), tr) == triggers.end()) {
            triggers.push_back(tr);
          }
        }
      }
    } else {
      triggers = {"unreachable", "timeout"};
    }
    out["triggers"] = std::move(triggers);
    const auto failback = errors.OptString(*f, "failback", 16, p).value_or("auto");
    if (failback != "auto" && failback != "manual") {
      errors.Add(p + ".failback", "INVALID_VALUE", p + ".failback must be \"auto\" or \"manual\"");
    }
    out["failback"] = failback;
    failover = std::move(out);
  }
  if (const auto* cc = errors.OptObject(body, "codec_config")) {
    const std::string p = "codec_config";
    errors.RejectUnknown(*cc, {"codecs", "transcode"}, p);
    json::array enabled;
    json::array disabled;
    const auto* list = cc->if_contains("codecs");
    if (list == nullptr || !list->is_array() || list->get_array().empty()) {
      errors.Add(p + ".codecs", "INVALID_VALUE",
                 p + ".codecs must list codecs in order of preference");
    } else {
      std::set<std::string> seen;
      std::size_t i = 0;
      for (const auto& c : list->get_array()) {
        const std::string cp = p + ".codecs[" + std::to_string(i++) + "]";
        std::string name;
        bool on = true;
        if (c.is_string()) {
          name = c.get_string();
        } else if (c.is_object()) {
          errors.RejectUnknown(c.get_object(), {"name", "enabled"}, cp);
          name = errors.String(c.get_object(), "name", 16, cp).value_or("");
          on = errors.OptBool(c.get_object(), "enabled", cp).value_or(true);
        }
        const auto it = std::find_if(kCodecs.begin(), kCodecs.end(), [&](std::string_view k) {
          return k.size() == name.size() &&
                 std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) ==
                          std::tolower(static_cast<unsigned char>(b));
                 });
        });
        if (it == kCodecs.end()) {
          errors.Add(cp, "UNKNOWN_CODEC", cp + " must be one of PCMU, PCMA, G.729, Opus, G.722");
        } else if (!seen.insert(std::string(*it)).second) {
          errors.Add(cp, "DUPLICATE_CODEC", cp + ": " + std::string(*it) + " is listed twice");
        } else {
          (on ? enabled : disabled).emplace_back(*it);
        }
      }
      if (errors.empty() && enabled.empty()) {
        errors.Add(p + ".codecs", "INVALID_VALUE", "at least one codec must be enabled");
      }
    }
    codecs = json::object{{"codecs", std::move(enabled)},
                          {"disabled", std::move(disabled)},
                          {"transcode", errors.OptBool(*cc, "transcode", p).value_or(false)}};
  }
  if (const auto* ac = errors.OptObject(body, "alert_config")) {
    const std::string p = "alert_config";
    errors.RejectUnknown(*ac, {"enabled", "thresholds", "channels"}, p);
    json::object out{{"enabled", errors.OptBool(*ac, "enabled", p).value_or(true)}};
    json::object thresholds;
    if (const auto* t = errors.OptObject(*ac, "thresholds", p)) {
      const std::string tp = p + ".thresholds";
      errors.RejectUnknown(*t,
                           {"unreachable_minutes", "failure_rate_percent",
                            "failure_rate_window_minutes", "response_time_ms"},
                           tp);
      auto put = [&](std::string_view key, std::int64_t lo, std::int64_t hi) {
        if (auto v = errors.OptInt(*t, key, lo, hi, tp)) {
          thresholds[key] = *v;
        }
      };
      put("unreachable_minutes", 1, 1440);
      put("failure_rate_percent", 1, 100);
      put("failure_rate_window_minutes", 1, 1440);
      put("response_time_ms", 1, 60000);
      if (thresholds.contains("failure_rate_percent") &&
          !thresholds.contains("failure_rate_window_minutes")) {
        thresholds["failure_rate_window_minutes"] = 15;
      }
    }
    out["thresholds"] = std::move(thresholds);
    json::object channels{{"email", false}, {"sms", false}, {"webhook", nullptr}};
    if (const auto* ch = errors.OptObject(*ac, "channels", p)) {
      const std::string cp = p + ".channels";
      errors.RejectUnknown(*ch, {"email", "sms", "webhook"}, cp);
      channels["email"] = errors.OptBool(*ch, "email", cp).value_or(false);
      channels["sms"] = errors.OptBool(*ch, "sms", cp).value_or(false);
      if (auto url = errors.OptString(*ch, "webhook", 2048, cp)) {
        if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0) {
          errors.Add(cp + ".webhook", "INVALID_URL", cp + ".webhook must be an http(s) URL");
        } else {
          channels["webhook"] = *url;
        }
      }
    }
    out["channels"] = std::move(channels);
    alerts = std::move(out);
  }
  if (errors.empty() && !failover && !codecs && !alerts) {
    errors.Add("failover_config", "REQUIRED",
               "give at least one of failover_config, codec_config or alert_config");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto patch = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto exists, c.Query("SELECT 1 FROM sip_configs WHERE org_id = $1 AND phone_number = $2 "
                             "AND direction = $3 LIMIT 1",
                             {org, *number, *direction}));
    if (exists.empty()) {
      return FailCode(Errc::kNotFound, "NOT_FOUND",
                      "no " + *direction + " SIP configuration for " + *number, "phone_number");
    }
    const std::optional<std::string> f =
        failover ? std::optional(json::serialize(*failover)) : std::nullopt;
    const std::optional<std::string> cd =
        codecs ? std::optional(json::serialize(*codecs)) : std::nullopt;
    const std::optional<std::string> al =
        alerts ? std::optional(json::serialize(*alerts)) : std::nullopt;
    PORTLINE_RETURN_IF_ERROR(c.Execute(
        "INSERT INTO sip_advanced (org_id, phone_number, direction, failover, codecs, alerts, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (org_id, phone_number, direction) DO UPDATE SET "
        "failover = COALESCE(excluded.failover, sip_advanced.failover), "
        "codecs = COALESCE(excluded.codecs, sip_advanced.codecs), "
        "alerts = COALESCE(excluded.alerts, sip_advanced.alerts), "
        "updated_at = excluded.updated_at",
        {org, *number, *direction, f, cd, al, ToUnixMillis(clock_.Now())}));
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT failover, codecs, alerts, updated_at FROM sip_advanced WHERE "
                           "org_id = $1 AND phone_number = $2 AND direction = $3",
                           {org, *number, *direction}));
    const auto& r = rows.at(0);
    return json::value(json::object{
        {"phone_number", *number},
        {"direction", *direction},
        {"failover_config", r.IsNull(0) ? json::value(nullptr) : json::parse(r.Text(0))},
        {"codec_config", r.IsNull(1) ? json::value(nullptr) : json::parse(r.Text(1))},
        {"alert_config", r.IsNull(2) ? json::value(nullptr) : json::parse(r.Text(2))},
        {"updated_at", TimestampJson(r.Int(3))}});
  };
  return store::WithTransaction(*lease, patch);
}

// ---- Trunks -----------------------------------------------------------------------------

Result<json::value> SipService::TrunkView(store::Connection& c, std::string_view org,
                                          const store::Row& r) const {
  PORTLINE_ASSIGN_OR_RETURN(
      auto count, c.Query("SELECT COUNT(DISTINCT phone_number) FROM sip_configs WHERE org_id = $1 "
                          "AND trunk_id = $2",
                          {org, r.Text(0)}));
  const auto settings = ParseObject(r.Text(2));
  // Reuse the direction view for redaction; a trunk carries inbound auth settings too.
  ConfigRow as_row{r.Text(0), "", "inbound", "", std::nullopt, settings, r.Int(3), r.Int(4)};
  json::object v = View(org, as_row, nullptr);
  json::object out{{"id", r.Text(0)},
                   {"name", r.Text(1)},
                   {"sip_endpoint", v.at("sip_endpoint")},
                   {"headers", v.at("headers")},
                   {"options", v.at("options")},
                   {"attached_numbers", count[0].Int(0)},
                   {"created_at", v.at("created_at")},
                   {"updated_at", v.at("updated_at")}};
  return json::value(std::move(out));
}

Result<json::value> SipService::CreateTrunk(std::string_view org, const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"name", "sip_endpoint", "auth_mode", "register_auth", "headers", "options"});
  const auto name = errors.String(body, "name", 100);
  if (name && (name->empty() || !std::all_of(name->begin(), name->end(), [](char ch) {
                 return static_cast<unsigned char>(ch) >= 0x20;
               }))) {
    errors.Add("name", "INVALID_VALUE", "name must be 1 to 100 characters without control codes");
  }
  json::object settings = ValidateSettings(body, "", Kind::kTrunk, errors);
  if (EffectiveAuthMode(settings) == "register" && !settings.contains("register_auth")) {
    errors.Add("register_auth", "REQUIRED",
               "register_auth {username, password} is required when auth_mode is register");
  }
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  const auto now = clock_.Now();
  const std::string id = NewId("trk", now);
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto inserted = lease->Execute(
      "INSERT INTO sip_trunks (id, org_id, name, settings, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $5)",
      {id, org, *name, json::serialize(settings), ToUnixMillis(now)});
  if (!inserted) {
    if (inserted.error().code == Errc::kConflict) {
      return FailCode(Errc::kConflict, "TRUNK_EXISTS",
                      "a trunk named '" + *name + "' already exists", "name");
    }
    return tl::unexpected(inserted.error());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto view, GetTrunk(org, id));
  if (auto username = settings.if_contains("register_auth")) {
    view.as_object()["register_password_for_pbx"] =
        PbxPassword(org, id, std::string(username->at("username").as_string()));
  }
  return view;
}

Result<json::value> SipService::ListTrunks(std::string_view org,
                                           const std::optional<std::string>& after, int limit) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                              "WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                              {org, after.value_or(""), static_cast<std::int64_t>(limit) + 1}));
  json::object data{{"next_cursor", nullptr}};
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.pop_back();
    data["next_cursor"] = rows.back().Text(0);
  }
  json::array trunks;
  for (const auto& r : rows) {
    PORTLINE_ASSIGN_OR_RETURN(auto v, TrunkView(*lease, org, r));
    trunks.push_back(std::move(v));
  }
  data["trunks"] = std::move(trunks);
  return data;
}

Result<json::value> SipService::GetTrunk(std::string_view org, std::string_view trunk_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  PORTLINE_ASSIGN_OR_RETURN(
      auto rows, lease->Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                              "WHERE org_id = $1 AND id = $2",
                              {org, trunk_id}));
  if (rows.empty()) {
    return Fail(Errc::kNotFound, "trunk not found");
  }
  return TrunkView(*lease, org, rows[0]);
}

Result<json::value> SipService::UpdateTrunk(std::string_view org, std::string_view trunk_id,
                                            const json::object& body) {
  FieldErrors errors;
  errors.RejectUnknown(
      body, {"name", "sip_endpoint", "auth_mode", "register_auth", "headers", "options"});
  const auto name = errors.OptString(body, "name", 100);
  if (name && name->empty()) {
    errors.Add("name", "INVALID_VALUE", "name must not be empty");
  }
  json::object changes = ValidateSettings(body, "", Kind::kTrunk, errors);
  if (!errors.empty()) {
    return tl::unexpected(errors.ToError());
  }
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto update = [&](store::Connection& c) -> Result<bool> {
    PORTLINE_ASSIGN_OR_RETURN(auto current, LoadTrunk(c, org, trunk_id));
    if (!current) {
      return Fail(Errc::kNotFound, "trunk not found");
    }
    if (StringAt(changes, "auth_mode") == std::optional<std::string>("ip")) {
      current->erase("register_auth");
    }
    json::object merged = Overlay(*current, changes);
    if (EffectiveAuthMode(merged) == "register" && !merged.contains("register_auth")) {
      return FailCode(Errc::kInvalidArgument, "REQUIRED",
                      "register_auth is required when auth_mode is register", "register_auth");
    }
    auto updated = c.Execute(
        "UPDATE sip_trunks SET settings = $1, name = COALESCE($2, name), updated_at = $3 "
        "WHERE id = $4 AND org_id = $5",
        {json::serialize(merged), name, ToUnixMillis(clock_.Now()), trunk_id, org});
    if (!updated && updated.error().code == Errc::kConflict) {
      return FailCode(Errc::kConflict, "TRUNK_EXISTS", "a trunk with that name already exists",
                      "name");
    }
    PORTLINE_RETURN_IF_ERROR(updated);
    return true;
  };
  PORTLINE_RETURN_IF_ERROR(store::WithTransaction(*lease, update));
  PORTLINE_ASSIGN_OR_RETURN(auto view, GetTrunk(org, trunk_id));
  return view;
}

Result<json::value> SipService::DeleteTrunk(std::string_view org, std::string_view trunk_id) {
  PORTLINE_ASSIGN_OR_RETURN(auto lease, db_.Acquire());
  auto remove = [&](store::Connection& c) -> Result<json::value> {
    PORTLINE_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT id, name, settings, created_at, updated_at FROM sip_trunks "
                           "WHERE org_id = $1 AND id = $2",
                           {org, trunk_id}));
    if (rows.empty()) {
      return Fail(Errc::kNotFound, "trunk not found");
    }
    PORTLINE_ASSIGN_OR_RETURN(auto view, TrunkView(c, org, rows[0]));
    const auto attached = view.at("attached_numbers").as_int64();
    if (attached > 0) {
      return FailCode(
          Errc::kConflict, "TRUNK_IN_USE",
          "trunk is attached to " + std::to_string(attached) + " number(s); detach them first",
          "trunk_id");
    }
    PORTLINE_RETURN_IF_ERROR(
        c.Execute("DELETE FROM sip_trunks WHERE org_id = $1 AND id = $2", {org, trunk_id}));
    view.as_object()["deleted"] = true;
    return view;
  };
  return store::WithTransaction(*lease, remove);
}

Result<void> SipService::AttachPorted(std::string_view org, const std::vector<std::string>& numbers,
                                      const Object& config) {
  Object body = config;
  boost::json::array list;
  for (const auto& n : numbers) {
    list.emplace_back(n);
  }
  body["phone_numbers"] = std::move(list);
  PORTLINE_ASSIGN_OR_RETURN(auto attached, Attach(org, body));
  const auto* failed = attached.as_object().if_contains("failed");
  if (failed != nullptr && failed->is_array() && !failed->get_array().empty()) {
    return Fail(Errc::kUnprocessable, "the post_port configuration could not be attached: " +
                                          boost::json::serialize(failed->get_array().at(0)));
  }
  return {};
}

}  // namespace portline::trunks
