#include "config/config.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <variant>

#include "core/log.hpp"
#include "core/net_guard.hpp"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX name

namespace portline::config {
namespace {

using Target = std::variant<std::string*, std::int64_t*, bool*, double*>;
struct Binding {
  std::string_view path;  // "server.listen"
  std::string_view env;   // "PORTLINE_LISTEN"
  Target target;
};

std::vector<Binding> Bindings(Config& c) {
  return {
      {"server.listen", "PORTLINE_LISTEN", &c.listen},
      {"server.workers", "PORTLINE_WORKERS", &c.workers},
      {"server.max_body_bytes", "PORTLINE_MAX_BODY_BYTES", &c.max_body_bytes},
      {"server.max_header_bytes", "PORTLINE_MAX_HEADER_BYTES", &c.max_header_bytes},
      {"server.header_timeout_ms", "PORTLINE_HEADER_TIMEOUT_MS", &c.header_timeout_ms},
      {"server.body_timeout_ms", "PORTLINE_BODY_TIMEOUT_MS", &c.body_timeout_ms},
      {"server.idle_timeout_ms", "PORTLINE_IDLE_TIMEOUT_MS", &c.idle_timeout_ms},
      {"server.write_timeout_ms", "PORTLINE_WRITE_TIMEOUT_MS", &c.write_timeout_ms},
      {"server.shutdown_timeout_ms", "PORTLINE_SHUTDOWN_TIMEOUT_MS", &c.shutdown_timeout_ms},
      {"server.max_connections", "PORTLINE_MAX_CONNECTIONS", &c.max_connections},
      {"server.access_log", "PORTLINE_ACCESS_LOG", &c.access_log},
      {"server.public_url", "PORTLINE_PUBLIC_URL", &c.public_url},
      {"storage.data_dir", "PORTLINE_DATA_DIR", &c.data_dir},
      {"storage.database_url", "PORTLINE_DATABASE_URL", &c.database_url},
      {"storage.sqlite_synchronous", "PORTLINE_SQLITE_SYNCHRONOUS", &c.sqlite_synchronous},
      {"storage.statement_timeout_ms", "PORTLINE_STATEMENT_TIMEOUT_MS", &c.statement_timeout_ms},
      {"api.rate_limit_per_second", "PORTLINE_RATE_LIMIT_PER_SECOND", &c.rate_limit_per_second},
      {"api.rate_limit_burst", "PORTLINE_RATE_LIMIT_BURST", &c.rate_limit_burst},
      {"api.idempotency_ttl_hours", "PORTLINE_IDEMPOTENCY_TTL_HOURS", &c.idempotency_ttl_hours},
      {"api.idempotency_max_bytes_per_org", "PORTLINE_IDEMPOTENCY_MAX_BYTES_PER_ORG",
       &c.idempotency_max_bytes_per_org},
      {"api.default_org", "PORTLINE_DEFAULT_ORG", &c.default_org},
      {"security.secret_key", "PORTLINE_SECRET_KEY", &c.secret_key},
      {"security.outbound_allow", "PORTLINE_OUTBOUND_ALLOW", &c.outbound_allow},
      {"sip.network_file", "PORTLINE_SIP_NETWORK_FILE", &c.sip_network_file},
      {"sip.listen", "PORTLINE_SIP_LISTEN", &c.sip_listen},
      {"sip.public_host", "PORTLINE_SIP_PUBLIC_HOST", &c.sip_public_host},
      {"sip.public_ips", "PORTLINE_SIP_PUBLIC_IPS", &c.sip_public_ips},
      {"sip.rtp_ports", "PORTLINE_SIP_RTP_PORTS", &c.sip_rtp_ports},
      {"sip.tls_cert_file", "PORTLINE_SIP_TLS_CERT_FILE", &c.sip_tls_cert_file},
      {"sip.tls_key_file", "PORTLINE_SIP_TLS_KEY_FILE", &c.sip_tls_key_file},
      {"sip.tls_ca_file", "PORTLINE_SIP_TLS_CA_FILE", &c.sip_tls_ca_file},
      {"sip.tls_verify", "PORTLINE_SIP_TLS_VERIFY", &c.sip_tls_verify},
      {"sip.tls_client_certificate", "PORTLINE_SIP_TLS_CLIENT_CERTIFICATE",
       &c.sip_tls_client_certificate},
      {"sip.t1_ms", "PORTLINE_SIP_T1_MS", &c.sip_t1_ms},
      {"sip.t2_ms", "PORTLINE_SIP_T2_MS", &c.sip_t2_ms},
      {"sip.t4_ms", "PORTLINE_SIP_T4_MS", &c.sip_t4_ms},
      {"sip.dns_servers", "PORTLINE_SIP_DNS_SERVERS", &c.sip_dns_servers},
      {"sip.max_connections", "PORTLINE_SIP_MAX_CONNECTIONS", &c.sip_max_connections},
      {"sip.max_connections_per_ip", "PORTLINE_SIP_MAX_CONNECTIONS_PER_IP",
       &c.sip_max_connections_per_ip},
      {"sip.max_outgoing_connections", "PORTLINE_SIP_MAX_OUTGOING_CONNECTIONS",
       &c.sip_max_outgoing_connections},
      {"sip.write_timeout_ms", "PORTLINE_SIP_WRITE_TIMEOUT_MS", &c.sip_write_timeout_ms},
      {"porting.min_port_days", "PORTLINE_MIN_PORT_DAYS", &c.min_port_days},
      {"porting.check_max_numbers", "PORTLINE_CHECK_MAX_NUMBERS", &c.check_max_numbers},
      {"porting.coverage", "PORTLINE_COVERAGE", &c.coverage},
      {"porting.lnp_file", "PORTLINE_LNP_FILE", &c.lnp_file},
      {"porting.carriers_file", "PORTLINE_CARRIERS_FILE", &c.carriers_file},
      {"porting.request_max_numbers", "PORTLINE_REQUEST_MAX_NUMBERS", &c.request_max_numbers},
      {"porting.worker_interval_ms", "PORTLINE_WORKER_INTERVAL_MS", &c.worker_interval_ms},
      {"porting.step_lease_ms", "PORTLINE_STEP_LEASE_MS", &c.step_lease_ms},
      {"porting.gateway", "PORTLINE_GATEWAY", &c.gateway},
      {"mail.transport", "PORTLINE_MAIL_TRANSPORT", &c.mail_transport},
      {"mail.from", "PORTLINE_MAIL_FROM", &c.mail_from},
      {"mail.outbox_dir", "PORTLINE_MAIL_OUTBOX_DIR", &c.mail_outbox_dir},
      {"mail.smtp_host", "PORTLINE_MAIL_SMTP_HOST", &c.mail_smtp_host},
      {"mail.smtp_port", "PORTLINE_MAIL_SMTP_PORT", &c.mail_smtp_port},
      {"mail.smtp_starttls", "PORTLINE_MAIL_SMTP_STARTTLS", &c.mail_smtp_starttls},
      {"mail.smtp_username", "PORTLINE_MAIL_SMTP_USERNAME", &c.mail_smtp_username},
      {"mail.smtp_password", "PORTLINE_MAIL_SMTP_PASSWORD", &c.mail_smtp_password},
      {"mail.smtp_ca_file", "PORTLINE_MAIL_SMTP_CA_FILE", &c.mail_smtp_ca_file},
      {"mail.smtp_verify", "PORTLINE_MAIL_SMTP_VERIFY", &c.mail_smtp_verify},
      {"webhooks.ca_file", "PORTLINE_WEBHOOKS_CA_FILE", &c.webhooks_ca_file},
      {"log.level", "PORTLINE_LOG_LEVEL", &c.log_level},
  };
}

}  // namespace

std::vector<std::string_view> SplitList(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      out.push_back(item);
    }
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return out;
}

namespace {

Error Problems(std::vector<FieldError> fields) {
  Error e;
  e.code = Errc::kInvalidArgument;
  e.api_code = "INVALID_CONFIG";
  e.message = fields.front().message;
  e.fields = std::move(fields);
  return e;
}

// Sets a binding from text (environment variables).
std::string SetFromText(const Binding& b, std::string_view text) {
  struct V {
    std::string_view text;
    std::string operator()(std::string* s) const {
      *s = std::string(text);
      return {};
    }
    std::string operator()(std::int64_t* i) const {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || p != text.data() + text.size()) {
        return "must be an integer";
      }
      *i = v;
      return {};
    }
    std::string operator()(bool* b) const {
      if (text == "true" || text == "1" || text == "yes") {
        *b = true;
      } else if (text == "false" || text == "0" || text == "no") {
        *b = false;
      } else {
        return "must be true or false";
      }
      return {};
    }
    std::string operator()(double* d) const {
      try {
        std::size_t used = 0;
        const double v = std::stod(std::string(text), &used);
        if (used != text.size()) {
          return "must be a number";
        }
        *d = v;
      } catch (const std::exception&) {
        return "must be a number";
      }
      return {};
    }
  };
  return std::visit(V{text}, b.target);
}

// Sets a binding from JSON (config file).
std::string SetFromJson(const Binding& b, const boost::json::value& v) {
  struct V {
    const boost::json::value& v;
    std::string operator()(std::string* s) const {
      if (!v.is_string()) {
        return "must be a string";
      }
      *s = std::string(v.get_string());
      return {};
    }
    std::string operator()(std::int64_t* i) const {
      if (v.is_int64()) {
        *i = v.get_int64();
      } else if (v.is_uint64() && v.get_uint64() <= INT64_MAX) {
        *i = static_cast<std::int64_t>(v.get_uint64());
      } else {
        return "must be an integer";
      }
      return {};
    }
    std::string operator()(bool* b) const {
      if (!v.is_bool()) {
        return "must be true or false";
      }
      *b = v.get_bool();
      return {};
    }
    std::string operator()(double* d) const {
      if (!v.is_number()) {
        return "must be a number";
      }
      *d = v.to_number<double>();
      return {};
    }
  };
  return std::visit(V{v}, b.target);
}

void Walk(const boost::json::object& obj, const std::string& prefix,
          const std::vector<Binding>& bindings, std::vector<FieldError>& errors) {
  for (const auto& kv : obj) {
    const std::string path =
        prefix.empty() ? std::string(kv.key()) : prefix + "." + std::string(kv.key());
    if (kv.key().starts_with("_")) {
      continue;  // "_comment" keys document the example file
    }
    if (kv.value().is_object()) {
      Walk(kv.value().get_object(), path, bindings, errors);
      continue;
    }
    const auto it = std::find_if(bindings.begin(), bindings.end(),
                                 [&](const Binding& b) { return b.path == path; });
    if (it == bindings.end()) {
      errors.push_back({"UNKNOWN_KEY", "unknown config key '" + path + "'", path});
      continue;
    }
    if (auto why = SetFromJson(*it, kv.value()); !why.empty()) {
      errors.push_back({"INVALID_VALUE", path + " " + why, path});
    }
  }
}

}  // namespace

Result<void> ApplyJson(Config& cfg, std::string_view json_text) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(json_text, ec);
  if (ec || !value.is_object()) {
    return Fail(Errc::kInvalidArgument,
                "config file is not a JSON object" + (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<FieldError> errors;
  Walk(value.get_object(), "", Bindings(cfg), errors);
  if (!errors.empty()) {
    return tl::unexpected(Problems(std::move(errors)));
  }
  return {};
}

Result<void> ApplyEnvironment(Config& cfg, const std::vector<std::string>& env) {
  std::vector<FieldError> errors;
  const auto bindings = Bindings(cfg);
  for (const auto& entry : env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || entry.rfind("PORTLINE_", 0) != 0) {
      continue;
    }
    const std::string_view name(entry.data(), eq);
    const std::string_view value(entry.data() + eq + 1, entry.size() - eq - 1);
    const auto it = std::find_if(bindings.begin(), bindings.end(),
                                 [&](const Binding& b) { return b.env == name; });
    if (it == bindings.end()) {
      continue;  // other PORTLINE_* variables (e.g. PORTLINE_CONFIG, test variables)
    }
    if (auto why = SetFromText(*it, value); !why.empty()) {
      errors.push_back({"INVALID_VALUE", std::string(name) + " " + why, std::string(name)});
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(Problems(std::move(errors)));
  }
  return {};
}

Result<std::pair<std::string, std::uint16_t>> SplitHostPort(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Fail(Errc::kInvalidArgument, "expected [IPv6]:PORT");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return Fail(Errc::kInvalidArgument, "expected HOST:PORT");
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || p != port.data() + port.size() ||
      value > 65535) {
    return Fail(Errc::kInvalidArgument, "expected HOST:PORT with a port from 0 to 65535");
  }
  return std::make_pair(std::string(host), static_cast<std::uint16_t>(value));
}

Result<void> Validate(const Config& c) {
  std::vector<FieldError> errors;
  auto check = [&errors](bool ok, std::string_view path, std::string message) {
    if (!ok) {
      errors.push_back({"INVALID_VALUE", std::string(path) + " " + message, std::string(path)});
    }
  };
  if (auto hp = SplitHostPort(c.listen); !hp) {
    check(false, "server.listen", hp.error().message + " (got '" + c.listen + "')");
  }
  check(c.workers >= 1 && c.workers <= 256, "server.workers", "must be from 1 to 256");
  check(c.max_body_bytes >= 1024 && c.max_body_bytes <= (1LL << 30), "server.max_body_bytes",
        "must be from 1024 to 1073741824");
  check(c.max_header_bytes >= 1024 && c.max_header_bytes <= (1 << 20), "server.max_header_bytes",
        "must be from 1024 to 1048576");
  for (auto [v, path] : {std::pair{c.header_timeout_ms, "server.header_timeout_ms"},
                         {c.body_timeout_ms, "server.body_timeout_ms"},
                         {c.idle_timeout_ms, "server.idle_timeout_ms"},
                         {c.write_timeout_ms, "server.write_timeout_ms"},
                         {c.shutdown_timeout_ms, "server.shutdown_timeout_ms"},
                         {c.statement_timeout_ms, "storage.statement_timeout_ms"}}) {
    check(v >= 10 && v <= 3600000, path, "must be from 10 to 3600000 milliseconds");
  }
  check(c.max_connections >= 1 && c.max_connections <= 1000000, "server.max_connections",
        "must be from 1 to 1000000");
  check(c.data_dir.size() > 0, "storage.data_dir", "must not be empty");
  check(c.database_url.empty() || c.database_url.rfind("postgres://", 0) == 0 ||
            c.database_url.rfind("postgresql://", 0) == 0,
        "storage.database_url", "must be empty (SQLite) or start with postgres://");
  check(c.sqlite_synchronous == "full" || c.sqlite_synchronous == "normal",
        "storage.sqlite_synchronous", "must be \"full\" or \"normal\"");
  check(c.rate_limit_per_second >= 0, "api.rate_limit_per_second", "must be ≥ 0 (0 disables)");
  check(c.rate_limit_burst >= 1, "api.rate_limit_burst", "must be ≥ 1");
  check(c.idempotency_ttl_hours >= 1 && c.idempotency_ttl_hours <= 24 * 30,
        "api.idempotency_ttl_hours", "must be from 1 to 720");
  check(c.idempotency_max_bytes_per_org >= 1024 * 1024, "api.idempotency_max_bytes_per_org",
        "must be at least 1048576");
  check(
      c.secret_key.empty() ||
          (c.secret_key.size() == 64 &&
           std::all_of(c.secret_key.begin(), c.secret_key.end(),
                       [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; })),
      "security.secret_key", "must be 64 hex characters (32 bytes), or empty");
  check(c.min_port_days >= 1 && c.min_port_days <= 60, "porting.min_port_days",
        "must be from 1 to 60");
  check(c.check_max_numbers >= 1 && c.check_max_numbers <= 100000, "porting.check_max_numbers",
        "must be from 1 to 100000");
  check(c.request_max_numbers >= 1 && c.request_max_numbers <= 100000,
        "porting.request_max_numbers", "must be from 1 to 100000");
  check(c.worker_interval_ms >= 10 && c.worker_interval_ms <= 600000, "porting.worker_interval_ms",
        "must be from 10 to 600000");
  check(c.step_lease_ms >= 1000 && c.step_lease_ms <= 3600000, "porting.step_lease_ms",
        "must be from 1000 to 3600000");
  check(c.gateway.empty() || c.gateway == "simulator", "porting.gateway",
        "must be empty (live organizations cannot port) or \"simulator\" (live organizations "
        "use the simulated carrier network: demos and tests only)");
  check(c.public_url.empty() || c.public_url.starts_with("http://") ||
            c.public_url.starts_with("https://"),
        "server.public_url", "must start with http:// or https://, or be empty");
  for (std::string_view cidr : SplitList(c.outbound_allow)) {
    auto parsed = net::ParseCidr(cidr);
    check(parsed.has_value(), "security.outbound_allow",
          parsed ? std::string() : parsed.error().message);
  }
  check(c.mail_transport == "outbox" || c.mail_transport == "smtp", "mail.transport",
        "must be \"outbox\" (.eml files) or \"smtp\"");
  check(c.mail_smtp_port >= 1 && c.mail_smtp_port <= 65535, "mail.smtp_port",
        "must be from 1 to 65535");
  check(c.mail_transport != "smtp" || !c.mail_smtp_host.empty(), "mail.smtp_host",
        "is required when mail.transport is smtp");
  check(c.mail_smtp_username.empty() || c.mail_smtp_starttls, "mail.smtp_username",
        "needs mail.smtp_starttls: Portline never sends a password without TLS");
  check(c.mail_from.find('@') != std::string::npos &&
            c.mail_from.find_first_of("\r\n") == std::string::npos,
        "mail.from", "must be an address such as \"Portline <noreply@example.com>\"");
  auto listeners = ParseSipListen(c.sip_listen);
  check(listeners.has_value(), "sip.listen", listeners ? std::string() : listeners.error().message);
  if (listeners) {
    for (const SipListener& l : *listeners) {
      check(l.transport != "tls" || (!c.sip_tls_cert_file.empty() && !c.sip_tls_key_file.empty()),
            "sip.listen", "a tls listener needs sip.tls_cert_file and sip.tls_key_file");
    }
  }
  check(
      c.sip_tls_verify == "full" || c.sip_tls_verify == "chain_only" || c.sip_tls_verify == "none",
      "sip.tls_verify", "must be full, chain_only or none");
  check(c.sip_t1_ms >= 10 && c.sip_t1_ms <= 10000, "sip.t1_ms", "must be from 10 to 10000");
  check(c.sip_t2_ms >= c.sip_t1_ms && c.sip_t2_ms <= 60000, "sip.t2_ms",
        "must be from sip.t1_ms to 60000");
  check(c.sip_t4_ms >= 0 && c.sip_t4_ms <= 60000, "sip.t4_ms", "must be from 0 to 60000");
  check(c.sip_max_connections >= 1 && c.sip_max_connections <= 1000000, "sip.max_connections",
        "must be from 1 to 1000000");
  check(c.sip_max_connections_per_ip >= 1 && c.sip_max_connections_per_ip <= c.sip_max_connections,
        "sip.max_connections_per_ip", "must be from 1 to sip.max_connections");
  check(c.sip_max_outgoing_connections >= 1 && c.sip_max_outgoing_connections <= 1000000,
        "sip.max_outgoing_connections", "must be from 1 to 1000000");
  check(c.sip_write_timeout_ms >= 100 && c.sip_write_timeout_ms <= 600000, "sip.write_timeout_ms",
        "must be from 100 to 600000");
  for (std::string_view server : SplitList(c.sip_dns_servers)) {
    check(SplitHostPort(server).has_value(), "sip.dns_servers",
          "entries must be host:port (got '" + std::string(server) + "')");
  }
  log::Level level{};
  check(log::ParseLevel(c.log_level, level), "log.level",
        "must be one of debug, info, warn, error, off");
  if (!errors.empty()) {
    return tl::unexpected(Problems(std::move(errors)));
  }
  return {};
}

Result<std::vector<SipListener>> ParseSipListen(std::string_view text) {
  std::vector<SipListener> out;
  for (std::string_view item : SplitList(text)) {
    const std::size_t colon = item.find(':');
    SipListener l;
    l.transport = std::string(item.substr(0, colon));
    if (colon == std::string_view::npos ||
        (l.transport != "udp" && l.transport != "tcp" && l.transport != "tls")) {
      return Fail(Errc::kInvalidArgument,
                  "entries must be udp|tcp|tls:HOST:PORT (got '" + std::string(item) + "')");
    }
    auto hp = SplitHostPort(item.substr(colon + 1));
    if (!hp) {
      return Fail(Errc::kInvalidArgument,
                  hp.error().message + " (got '" + std::string(item) + "')");
    }
    l.host = hp->first;
    l.port = hp->second;
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    out.emplace_back(*e);
  }
  return out;
}

Result<Config> Load(const Flags& flags, const std::vector<std::string>& env) {
  Config cfg;
  std::optional<std::string> file = flags.config_file;
  if (!file) {
    for (const auto& e : env) {
      if (e.rfind("PORTLINE_CONFIG=", 0) == 0) {
        file = e.substr(16);
      }
    }
  }
  if (file && !file->empty()) {
    std::ifstream in(*file);
    if (!in) {
      return Fail(Errc::kInvalidArgument, "cannot read config file '" + *file + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    PORTLINE_RETURN_IF_ERROR(ApplyJson(cfg, text.str()));
  }
  PORTLINE_RETURN_IF_ERROR(ApplyEnvironment(cfg, env));
  if (flags.listen) {
    cfg.listen = *flags.listen;
  }
  if (flags.data_dir) {
    cfg.data_dir = *flags.data_dir;
  }
  if (flags.database_url) {
    cfg.database_url = *flags.database_url;
  }
  if (!flags.outbound_allow.empty()) {
    cfg.outbound_allow.clear();
    for (const std::string& cidr : flags.outbound_allow) {
      cfg.outbound_allow += (cfg.outbound_allow.empty() ? "" : ",") + cidr;
    }
  }
  if (flags.log_level) {
    cfg.log_level = *flags.log_level;
  }
  PORTLINE_RETURN_IF_ERROR(Validate(cfg));
  return cfg;
}

std::vector<std::pair<std::string, std::string>> KeyList() {
  Config c;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& b : Bindings(c)) {
    out.emplace_back(b.path, b.env);
  }
  return out;
}

}  // namespace portline::config

namespace portline::config {

DescriptorBudget BudgetDescriptors(const Config& cfg, std::uint64_t open_files) {
  DescriptorBudget b;
  b.open_files = open_files;
  b.reserved = std::clamp<std::uint64_t>(open_files / 8, 64, 1024);
  const std::uint64_t available = open_files > b.reserved ? open_files - b.reserved : 0;
  auto fit = [&b](std::int64_t wanted, std::uint64_t room) {
    const auto w = static_cast<std::uint64_t>(std::max<std::int64_t>(wanted, 1));
    const std::uint64_t got = std::max<std::uint64_t>(std::min(w, room), 1);
    b.reduced = b.reduced || got < w;
    return got;
  };
  b.sip_incoming = fit(cfg.sip_max_connections, available / 4);
  b.sip_outgoing = fit(cfg.sip_max_outgoing_connections, available / 4);
  const std::uint64_t sip = b.sip_incoming + b.sip_outgoing;
  b.http_connections = fit(cfg.max_connections, available > sip ? available - sip : 0);
  return b;
}

}  // namespace portline::config
