#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace portline::config {

/// Everything `portline` can be configured with. Sources, later ones winning: built-in
/// defaults, the JSON config file, PORTLINE_* environment variables, command-line flags.
/// config/portline.example.json documents every key.
struct Config {
  // server
  std::string listen = "127.0.0.1:8080";
  std::int64_t workers = 4;
  std::int64_t max_body_bytes = 1024 * 1024;
  std::int64_t max_header_bytes = 16 * 1024;
  std::int64_t header_timeout_ms = 10000;
  std::int64_t body_timeout_ms = 30000;
  std::int64_t idle_timeout_ms = 60000;
  std::int64_t write_timeout_ms = 30000;
  std::int64_t shutdown_timeout_ms = 30000;
  std::int64_t max_connections = 10000;
  bool access_log = true;
  std::string public_url;  // base URL users reach (signature links); empty: http://LISTEN
  // storage
  std::string data_dir = "./data";
  std::string database_url;  // may hold a password: never log it unredacted
  std::string sqlite_synchronous = "full";
  std::int64_t statement_timeout_ms = 10000;
  // api
  double rate_limit_per_second = 100;
  double rate_limit_burst = 200;
  std::int64_t idempotency_ttl_hours = 24;
  std::int64_t idempotency_max_bytes_per_org = 256LL << 20;  // what one org's records may weigh
  std::string default_org = "default";
  // security
  std::string secret_key;      // 64 hex chars; empty: DATA_DIR/secret.key (created on first start)
  std::string outbound_allow;  // CIDRs outbound connections may reach despite being non-public
  // sip
  std::string sip_network_file;  // regions, IPs, ports; empty: this deployment (the keys below)
  std::string sip_public_host;   // the name (or address) customers send SIP to; empty: unset
  std::string sip_public_ips;    // "203.0.113.10,203.0.113.11": where SIP and media come from
  std::string sip_rtp_ports = "10000-20000";  // the media port range customers must open
  std::string sip_listen;  // "udp:127.0.0.1:5060,tcp:[::1]:5060,tls:0.0.0.0:5061"; empty: off
  std::string sip_tls_cert_file;  // PEM chain for TLS listeners (and client certificate)
  std::string sip_tls_key_file;
  std::string sip_tls_ca_file;          // trust anchors for peers; empty: the system store
  std::string sip_tls_verify = "full";  // full | chain_only | none
  bool sip_tls_client_certificate = false;
  std::int64_t sip_t1_ms = 500;
  std::int64_t sip_t2_ms = 4000;
  std::int64_t sip_t4_ms = 5000;
  std::string sip_dns_servers;                   // "127.0.0.1:53,[::1]:53"; empty: /etc/resolv.conf
  std::int64_t sip_max_connections = 1024;       // incoming TCP/TLS connections open at once
  std::int64_t sip_max_connections_per_ip = 32;  // of those, from one source address
  std::int64_t sip_max_outgoing_connections = 1024;
  std::int64_t sip_write_timeout_ms = 10000;  // a SIP peer that stops reading is dropped
  // porting
  std::int64_t min_port_days = 7;          // earliest port date: at least this many days out
  std::int64_t check_max_numbers = 20000;  // numbers per portability check
  std::string coverage;                    // comma-separated state/province codes; empty = all
  std::string lnp_file;                    // LNP CSV; empty: the generated default dataset
  std::string carriers_file;  // carrier registry CSV; empty: carriers.csv beside lnp_file, if any
  std::int64_t request_max_numbers = 20000;  // numbers per port request
  std::int64_t worker_interval_ms = 1000;    // how often the workflow looks for due steps
  std::int64_t step_lease_ms = 30000;        // a step claimed by a node that died is retried after
  std::string gateway;  // losing-carrier gateway of live organizations: "" (none) | "simulator"
  // mail
  std::string mail_transport = "outbox";  // outbox (.eml files) | smtp
  std::string mail_from = "Portline <noreply@portline.localdomain>";
  std::string mail_outbox_dir;  // empty: DATA_DIR/outbox
  std::string mail_smtp_host = "127.0.0.1";
  std::int64_t mail_smtp_port = 587;
  bool mail_smtp_starttls = true;
  std::string mail_smtp_username;
  std::string mail_smtp_password;  // never logged
  std::string mail_smtp_ca_file;
  bool mail_smtp_verify = true;
  // webhooks
  std::string webhooks_ca_file;  // extra trust anchors for https endpoints (private CAs)
  // log
  std::string log_level = "info";
};

/// Flags given on the command line (unset = not given).
struct Flags {
  std::optional<std::string> config_file;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> database_url;
  std::optional<std::string> log_level;
  std::vector<std::string> outbound_allow;  // --outbound-allow CIDR (repeatable)
};

/// Applies a config file's JSON text. Unknown keys and wrong types are errors (all reported).
[[nodiscard]] Result<void> ApplyJson(Config& cfg, std::string_view json_text);
/// Applies PORTLINE_* variables from `environ`-style "NAME=value" entries.
[[nodiscard]] Result<void> ApplyEnvironment(Config& cfg, const std::vector<std::string>& env);
/// Checks ranges and formats; every problem is listed in Error::fields.
[[nodiscard]] Result<void> Validate(const Config& cfg);
/// Defaults → file (flag --config or PORTLINE_CONFIG) → environment → flags, then Validate.
[[nodiscard]] Result<Config> Load(const Flags& flags, const std::vector<std::string>& env);
/// The process environment as "NAME=value" strings.
[[nodiscard]] std::vector<std::string> ProcessEnvironment();

/// Splits "host:port" / "[v6]:port"; kInvalidArgument when malformed.
[[nodiscard]] Result<std::pair<std::string, std::uint16_t>> SplitHostPort(std::string_view s);

/// The items of a comma-separated setting ("a, b,,c" → a, b, c), trimmed.
[[nodiscard]] std::vector<std::string_view> SplitList(std::string_view text);

/// One SIP listener of sip.listen: "udp:127.0.0.1:5060" (IPv6 in brackets).
struct SipListener {
  std::string transport;  // udp | tcp | tls
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] Result<std::vector<SipListener>> ParseSipListen(std::string_view text);

/// How the process's descriptors are shared out: SIP streams never take what the HTTP API and
/// the rest (database, files, DNS, outbound calls) need, so a SIP flood cannot starve the API.
struct DescriptorBudget {
  std::uint64_t open_files = 0;  // the process's limit
  std::uint64_t reserved = 0;    // kept for everything that is not a listener's connection
  std::uint64_t http_connections = 0;
  std::uint64_t sip_incoming = 0;
  std::uint64_t sip_outgoing = 0;
  bool reduced = false;  // a configured cap was lowered to fit
};
/// Fits server.max_connections and the sip connection caps into `open_files`: a fixed reserve
/// first, then at most a quarter each for SIP incoming and outgoing, the rest for HTTP.
[[nodiscard]] DescriptorBudget BudgetDescriptors(const Config& cfg, std::uint64_t open_files);

/// Every key as (dotted path, environment variable), for docs and tests.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> KeyList();

}  // namespace portline::config
