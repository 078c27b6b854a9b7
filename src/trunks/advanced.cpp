// PATCH of a configuration's advanced settings: codecs, failover, alerts.
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

}  // namespace portline::trunks
