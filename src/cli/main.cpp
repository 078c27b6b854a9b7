// `portline`: one binary for the server and its admin/client commands.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "accounts/accounts.hpp"
#include "app/app.hpp"
#include "app/services.hpp"
#include "carriers/simulator.hpp"
#include "cli/sip_commands.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/json_util.hpp"
#include "core/log.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "numbering/check.hpp"
#include "numbering/lnp.hpp"
#include "numbering/nanp.hpp"
#include "porting/service.hpp"
#include "store/database.hpp"
#include "trunks/service.hpp"

namespace {
using portline::Error;
namespace config = portline::config;

constexpr int kExitConfig = 2;

void PrintError(const Error& e) {
  if (e.fields.empty()) {
    std::fprintf(stderr, "portline: %s\n", e.message.c_str());
    return;
  }
  for (const auto& f : e.fields) {
    std::fprintf(stderr, "portline: %s\n", f.message.c_str());
  }
}

void AddCommonFlags(CLI::App* cmd, config::Flags& flags) {
  cmd->add_option("--config", flags.config_file, "JSON config file (or PORTLINE_CONFIG)");
  cmd->add_option("--data-dir", flags.data_dir, "data directory for SQLite (PORTLINE_DATA_DIR)");
  cmd->add_option("--database-url", flags.database_url,
                  "postgres://… to use PostgreSQL instead of SQLite (PORTLINE_DATABASE_URL)");
  cmd->add_option("--log-level", flags.log_level, "debug|info|warn|error|off");
}

// Loads config, logs to stderr, and builds the services as `serve` does (app::Services, the one
// composition root): a CLI command is one more node of the workflow, and what it changes
// reaches the webhook outbox and the e-mail outbox like a change made through the API.
struct Context {
  config::Config cfg;
  portline::SystemClock clock;
  std::unique_ptr<portline::app::Services> services;
  portline::store::Database* db = nullptr;
  portline::accounts::Accounts* accounts = nullptr;
  portline::SecretBox* box = nullptr;
  portline::trunks::SipService* sip = nullptr;
  portline::numbering::LnpService* lnp = nullptr;
  portline::numbering::PortabilityChecker* checker = nullptr;
  portline::carriers::SimulatedNetwork* simulator = nullptr;
  portline::porting::PortingService* porting = nullptr;
};

// Only creating a request checks portability: the other commands skip loading the LNP data
// (`with_lnp` false gives the checker an empty index it never consults).
int Open(const config::Flags& flags, Context& ctx, bool quiet_logs = true, bool with_lnp = false) {
  auto cfg = config::Load(flags, config::ProcessEnvironment());
  if (!cfg) {
    PrintError(cfg.error());
    return kExitConfig;
  }
  ctx.cfg = *cfg;
  portline::log::Level level{};
  (void)portline::log::ParseLevel(ctx.cfg.log_level, level);
  if (quiet_logs && !flags.log_level) {
    level = portline::log::Level::kWarn;  // admin commands keep stdout/stderr for their output
  }
  portline::log::Init(level);
  portline::InitCrypto();
  auto built = portline::app::Services::Build(
      ctx.cfg, ctx.clock, portline::app::ServicesOptions{.pool_size = 2, .with_lnp = with_lnp});
  if (!built) {
    PrintError(built.error());
    return built.error().code == portline::Errc::kInvalidArgument ? kExitConfig : 1;
  }
  ctx.services = std::move(*built);
  auto& s = *ctx.services;
  ctx.db = s.db.get();
  ctx.accounts = s.accounts.get();
  ctx.box = s.box.get();
  ctx.sip = s.sip.get();
  ctx.lnp = s.lnp.get();
  ctx.checker = s.checker.get();
  ctx.simulator = s.simulator.get();
  ctx.porting = s.porting.get();
  return 0;
}

// The request body of a trunk command: --json TEXT or --file PATH ("-" = stdin).
portline::Result<boost::json::object> ReadBody(const std::string& json_text,
                                               const std::string& file) {
  std::string text = json_text;
  if (!file.empty()) {
    std::stringstream buf;
    if (file == "-") {
      buf << std::cin.rdbuf();
    } else {
      std::ifstream in(file);
      if (!in) {
        return portline::Fail(portline::Errc::kInvalidArgument, "cannot read " + file);
      }
      buf << in.rdbuf();
    }
    text = buf.str();
  }
  if (text.empty()) {
    return portline::Fail(portline::Errc::kInvalidArgument,
                          "give the request as --json '{...}' or --file PATH (- for stdin)");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto value, portline::ParseJson(text));
  if (!value.is_object()) {
    return portline::Fail(portline::Errc::kInvalidArgument, "the request must be a JSON object");
  }
  return std::move(value.as_object());
}

// Prints the API envelope; returns the exit code (0, or 1 with the errors on stderr too).
int PrintEnvelope(const portline::Result<boost::json::value>& r) {
  if (r) {
    std::printf(
        "%s\n",
        boost::json::serialize(boost::json::object{{"data", *r}, {"errors", nullptr}}).c_str());
    return 0;
  }
  PrintError(r.error());
  return 1;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out.empty() ? "-" : out;
}

std::string Ts(std::optional<std::int64_t> ms) {
  return ms ? portline::FormatRfc3339(portline::FromUnixMillis(*ms)) : "-";
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes while we write (a webhook receiver, an SMTP relay, over TLS: OpenSSL
  // writes with plain write()) must cost a failed delivery, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Portline: number porting and SIP trunking platform"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("portline ") + PORTLINE_VERSION);

  config::Flags flags;
  int rc = 0;

  // serve
  auto* serve = app.add_subcommand("serve", "Run the API server, the SIP engine and the workers");
  AddCommonFlags(serve, flags);
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (PORTLINE_LISTEN)");
  serve->add_option("--outbound-allow", flags.outbound_allow,
                    "CIDR that outbound connections to customer hosts may reach although it is "
                    "not public, e.g. 127.0.0.0/8 (repeatable; PORTLINE_OUTBOUND_ALLOW)");
  serve->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (!cfg) {
      PrintError(cfg.error());
      rc = kExitConfig;
      return;
    }
    portline::log::Level level{};
    (void)portline::log::ParseLevel(cfg->log_level, level);
    portline::log::Init(level);
    rc = portline::app::Serve(*cfg);
  });

  // migrate
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  AddCommonFlags(migrate, flags);
  migrate->callback([&] {
    Context ctx;
    rc = Open(flags, ctx, false);
    if (rc == 0) {
      std::printf("schema at version %d (%s)\n", portline::store::LatestSchemaVersion(),
                  ctx.db->description().c_str());
    }
  });

  // org
  auto* org_cmd = app.add_subcommand("org", "Manage organizations");
  org_cmd->require_subcommand(1);
  std::string org_name;
  std::vector<std::string> entitlements;
  auto* org_create = org_cmd->add_subcommand("create", "Create an organization; prints its id");
  AddCommonFlags(org_create, flags);
  org_create->add_option("name", org_name, "organization name")->required();
  org_create->add_option("--entitlement", entitlements, "entitlement to grant (repeatable): SIP");
  bool sandbox_org = false;
  org_create->add_flag("--sandbox", sandbox_org,
                       "a sandbox: simulated carriers and its own clock (/v1/sandbox)");
  org_create->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto created = ctx.accounts->CreateOrg(org_name, entitlements, sandbox_org);
    if (!created) {
      PrintError(created.error());
      rc = 1;
      return;
    }
    std::printf("%s\n", created->id.c_str());
  });

  auto* org_list = org_cmd->add_subcommand("list", "List organizations");
  AddCommonFlags(org_list, flags);
  org_list->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto orgs = ctx.accounts->ListOrgs();
    if (!orgs) {
      PrintError(orgs.error());
      rc = 1;
      return;
    }
    for (const auto& o : *orgs) {
      std::printf("%s\t%s\t%s\t%s\t%s\n", o.id.c_str(), o.name.c_str(),
                  Join(o.entitlements).c_str(), o.sandbox ? "sandbox" : "live",
                  Ts(o.created_at).c_str());
    }
  });

  std::string entitlement;
  bool revoke_entitlement = false;
  auto* org_entitle = org_cmd->add_subcommand("entitle", "Grant (or --revoke) an entitlement");
  AddCommonFlags(org_entitle, flags);
  org_entitle->add_option("org", org_name, "organization id or name")->required();
  org_entitle->add_option("entitlement", entitlement, "entitlement: SIP")->required();
  org_entitle->add_flag("--revoke", revoke_entitlement, "revoke instead of grant");
  org_entitle->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto found = ctx.accounts->FindOrg(org_name);
    auto changed =
        found ? ctx.accounts->SetEntitlement(found->id, entitlement, !revoke_entitlement) : found;
    if (!changed) {
      PrintError(changed.error());
      rc = 1;
      return;
    }
    std::printf("%s\t%s\n", changed->id.c_str(), Join(changed->entitlements).c_str());
  });

  // key
  auto* key = app.add_subcommand("key", "Manage API keys");
  key->require_subcommand(1);
  std::string key_name;
  std::string key_id;
  bool rotate = false;
  auto* key_create = key->add_subcommand("create", "Create an API key; prints only the key");
  AddCommonFlags(key_create, flags);
  key_create->add_option("--org", org_name, "organization id or name")->required();
  key_create->add_option("--name", key_name, "a label for the key");
  key_create->add_flag("--rotate", rotate, "revoke the organization's active keys with this name");
  key_create->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto found = ctx.accounts->FindOrg(org_name);
    if (!found) {
      PrintError(found.error());
      rc = 1;
      return;
    }
    if (rotate) {
      if (auto revoked = ctx.accounts->RevokeKeysNamed(found->id, key_name); !revoked) {
        PrintError(revoked.error());
        rc = 1;
        return;
      }
    }
    auto created = ctx.accounts->CreateKey(found->id, key_name);
    if (!created) {
      PrintError(created.error());
      rc = 1;
      return;
    }
    std::printf("%s\n", created->secret.c_str());
  });

  auto* key_list = key->add_subcommand("list", "List an organization's API keys");
  AddCommonFlags(key_list, flags);
  key_list->add_option("--org", org_name, "organization id or name")->required();
  key_list->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto found = ctx.accounts->FindOrg(org_name);
    if (!found) {
      PrintError(found.error());
      rc = 1;
      return;
    }
    std::optional<std::string> cursor;
    do {
      auto page = ctx.accounts->ListKeys(found->id, cursor, 100);
      if (!page) {
        PrintError(page.error());
        rc = 1;
        return;
      }
      for (const auto& k : page->items) {
        std::printf("%s\t%s\t%s\t%s\tcreated=%s\tlast_used=%s\n", k.id.c_str(),
                    k.name.empty() ? "-" : k.name.c_str(), k.prefix.c_str(),
                    k.revoked_at ? "revoked" : "active", Ts(k.created_at).c_str(),
                    Ts(k.last_used_at).c_str());
      }
      cursor = page->next_cursor;
    } while (cursor);
  });

  auto* key_revoke = key->add_subcommand("revoke", "Revoke an API key");
  AddCommonFlags(key_revoke, flags);
  key_revoke->add_option("key_id", key_id, "key id (key_…)")->required();
  key_revoke->add_option("--org", org_name, "organization id or name")->required();
  key_revoke->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto found = ctx.accounts->FindOrg(org_name);
    auto revoked =
        found ? ctx.accounts->RevokeKey(found->id, key_id)
              : tl::expected<portline::accounts::ApiKey, Error>(tl::unexpected(found.error()));
    if (!revoked) {
      PrintError(revoked.error());
      rc = 1;
      return;
    }
    std::printf("%s\trevoked\n", revoked->id.c_str());
  });

  // trunk: the /v1/sip surface from the command line, against the configured storage.
  auto* trunk = app.add_subcommand("trunk", "SIP trunk configuration (same rules as /v1/sip)");
  trunk->require_subcommand(1);
  std::string body_json;
  std::string body_file;
  std::string number;
  std::string input;
  int limit = 100;
  std::string cursor;
  using Method = portline::Result<boost::json::value> (portline::trunks::SipService::*)(
      std::string_view, const boost::json::object&);
  auto body_command = [&](const char* name, const char* help, Method method) {
    auto* cmd = trunk->add_subcommand(name, help);
    AddCommonFlags(cmd, flags);
    cmd->add_option("--org", org_name, "organization id or name")->required();
    cmd->add_option("--json", body_json, "request body as JSON");
    cmd->add_option("--file", body_file, "file with the request body (- for stdin)");
    cmd->callback([&, method] {
      Context ctx;
      if ((rc = Open(flags, ctx)) != 0) {
        return;
      }
      auto org = ctx.accounts->FindOrg(org_name);
      auto body = ReadBody(body_json, body_file);
      if (!org || !body) {
        PrintError(org ? body.error() : org.error());
        rc = 1;
        return;
      }
      rc = PrintEnvelope(((*ctx.sip).*method)(org->id, *body));
    });
  };
  body_command("attach", "Attach SIP configuration to numbers (POST /v1/sip/attach body)",
               &portline::trunks::SipService::Attach);
  body_command("update", "Update one direction (POST /v1/sip/update body)",
               &portline::trunks::SipService::Update);
  body_command("detach", "Remove directions (POST /v1/sip/detach body)",
               &portline::trunks::SipService::Detach);
  body_command("config", "Failover, codecs, alerts (PATCH /v1/sip/config body)",
               &portline::trunks::SipService::PatchConfig);

  auto* trunk_show = trunk->add_subcommand("show", "Show one number's SIP configuration");
  AddCommonFlags(trunk_show, flags);
  trunk_show->add_option("--org", org_name, "organization id or name")->required();
  trunk_show->add_option("phone_number", number, "E.164 number")->required();
  trunk_show->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto org = ctx.accounts->FindOrg(org_name);
    rc = org ? PrintEnvelope(ctx.sip->Get(org->id, number)) : (PrintError(org.error()), 1);
  });

  auto* trunk_list = trunk->add_subcommand("list", "List numbers with SIP configuration");
  AddCommonFlags(trunk_list, flags);
  trunk_list->add_option("--org", org_name, "organization id or name")->required();
  trunk_list->add_option("--limit", limit, "page size (1-1000)")->check(CLI::Range(1, 1000));
  trunk_list->add_option("--cursor", cursor, "next_cursor of the previous page");
  trunk_list->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto org = ctx.accounts->FindOrg(org_name);
    const auto after = cursor.empty() ? std::nullopt : std::optional<std::string>(cursor);
    rc = org ? PrintEnvelope(ctx.sip->ListNumbers(org->id, after, limit))
             : (PrintError(org.error()), 1);
  });

  auto* trunk_parse = trunk->add_subcommand("parse", "Parse a SIP destination (no storage needed)");
  trunk_parse->add_option("input", input, "e.g. sip:pbx.example.com:5061;transport=tls")
      ->required();
  trunk_parse->callback([&] {
    rc = PrintEnvelope(portline::trunks::SipService::ParseDestinationRequest(
        boost::json::object{{"input", input}}));
  });

  // port check: the portability check of GET /v1/sip/port/check, from the command line.
  auto* port = app.add_subcommand("port", "Number porting");
  port->require_subcommand(1);
  std::vector<std::string> check_numbers;
  bool as_json = false;
  auto* port_check =
      port->add_subcommand("check", "Check portability of numbers ('-' reads stdin)");
  AddCommonFlags(port_check, flags);
  port_check->add_option("numbers", check_numbers, "E.164 numbers, or - to read one per line")
      ->required();
  port_check->add_option("--org", org_name, "organization (for already_on_platform)");
  port_check->add_flag("--json", as_json, "print the API envelope instead of a table");
  port_check->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (!cfg) {
      PrintError(cfg.error());
      rc = kExitConfig;
      return;
    }
    portline::log::Init(portline::log::Level::kWarn);
    std::vector<std::string> numbers;
    for (const auto& n : check_numbers) {
      if (n == "-") {
        for (std::string line; std::getline(std::cin, line);) {
          if (!line.empty()) {
            numbers.push_back(line);
          }
        }
      } else {
        numbers.push_back(n);
      }
    }
    auto registry = portline::app::LoadCarriers(*cfg);
    if (!registry) {
      PrintError(registry.error());
      rc = 1;
      return;
    }
    const auto& carriers = *registry;
    auto index = portline::numbering::LnpIndex::LoadFileOrDefault(cfg->lnp_file, carriers);
    if (!index) {
      PrintError(index.error());
      rc = 1;
      return;
    }
    portline::numbering::LnpService lnp(
        std::make_shared<const portline::numbering::LnpIndex>(std::move(*index)));
    const auto opts = portline::app::CheckOptionsFrom(*cfg);
    portline::SystemClock clock;
    portline::numbering::PortabilityChecker checker(lnp, carriers, clock, opts);
    std::map<std::string, portline::numbering::HeldBy> held;
    if (!org_name.empty()) {
      Context ctx;
      if ((rc = Open(flags, ctx)) != 0) {
        return;
      }
      auto org = ctx.accounts->FindOrg(org_name);
      if (!org) {
        PrintError(org.error());
        rc = 1;
        return;
      }
      std::vector<std::string> e164;
      for (const auto& n : numbers) {
        if (auto parsed = portline::numbering::ParseNanp(n)) {
          e164.push_back(parsed->E164());
        }
      }
      auto found = ctx.porting->NumbersHeld(org->id, e164);
      if (!found) {
        PrintError(found.error());
        rc = 1;
        return;
      }
      held = std::move(*found);
    }
    if (numbers.size() > opts.max_numbers) {
      std::fprintf(stderr, "portline: at most %zu numbers per check (got %zu)\n", opts.max_numbers,
                   numbers.size());
      rc = 1;
      return;
    }
    const auto held_by = portline::numbering::HeldByLookup(held);
    auto none = [](std::string_view) { return false; };
    const auto data = boost::json::parse(portline::numbering::PortabilityChecker::ToJson(
        checker.Check(numbers, held_by, none), checker.DataSource()));
    if (as_json) {
      rc = PrintEnvelope(data);
      return;
    }
    std::printf("%-16s %-9s %-10s %-4s %-32s %-12s %s\n", "NUMBER", "PORTABLE", "TYPE", "PIN",
                "CARRIER", "EARLIEST", "REASON");
    for (const auto& r : data.at("results").as_array()) {
      const auto& o = r.as_object();
      const auto& carrier = o.at("carrier");
      const auto& reason = o.at("reason");
      std::printf("%-16s %-9s %-10s %-4s %-32s %-12s %s\n",
                  std::string(o.at("phone_number").as_string()).c_str(),
                  o.at("portable").as_bool() ? "yes" : "no",
                  std::string(o.at("number_type").as_string()).c_str(),
                  o.at("pin_required").as_bool() ? "yes" : "no",
                  carrier.is_null() ? "-" : std::string(carrier.at("name").as_string()).c_str(),
                  o.at("earliest_port_date").is_null()
                      ? "-"
                      : std::string(o.at("earliest_port_date").as_string()).c_str(),
                  reason.is_null() ? "" : std::string(reason.at("message").as_string()).c_str());
    }
  });

  // port create|list|show|cancel|events|notes|activate: the port-request API, in process.
  std::string port_id;
  std::string status_filter;
  std::string cancel_number;
  std::string note_text;
  std::vector<std::string> group_ids;
  auto with_org = [&](CLI::App* cmd) {
    AddCommonFlags(cmd, flags);
    cmd->add_option("--org", org_name, "organization id or name")->required();
  };
  // Runs `fn(ctx, org_id)` with the porting service open.
  auto porting_call =
      [&](const std::function<portline::Result<boost::json::value>(Context&, const std::string&)>&
              fn,
          bool with_lnp = false) {
        Context ctx;
        if ((rc = Open(flags, ctx, true, with_lnp)) != 0) {
          return;
        }
        auto org = ctx.accounts->FindOrg(org_name);
        rc = org ? PrintEnvelope(fn(ctx, org->id)) : (PrintError(org.error()), 1);
      };
  auto* port_create =
      port->add_subcommand("create", "Create a port request (POST /v1/sip/port/initiate body)");
  with_org(port_create);
  port_create->add_option("--json", body_json, "request body as JSON");
  port_create->add_option("--file", body_file, "file with the request body (- for stdin)");
  port_create->callback([&] {
    auto body = ReadBody(body_json, body_file);
    if (!body) {
      PrintError(body.error());
      rc = 1;
      return;
    }
    porting_call(
        [&](Context& ctx, const std::string& org) {
          return ctx.porting->Create({org, "cli"}, *body);
        },
        /*with_lnp=*/true);
  });
  auto* port_list = port->add_subcommand("list", "List port requests, newest first");
  with_org(port_list);
  port_list->add_option("--status", status_filter, "status filter, e.g. in_progress");
  port_list->add_option("--limit", limit, "page size (1-100)")->check(CLI::Range(1, 100));
  port_list->add_option("--cursor", cursor, "next_cursor of the previous page");
  port_list->add_flag("--json", as_json, "print the API envelope instead of a table");
  port_list->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto org = ctx.accounts->FindOrg(org_name);
    if (!org) {
      PrintError(org.error());
      rc = 1;
      return;
    }
    portline::porting::ListFilter filter;
    if (!status_filter.empty()) {
      filter.statuses.push_back(status_filter);
    }
    filter.limit = std::min(limit, 100);
    if (!cursor.empty()) {
      filter.after = cursor;
    }
    auto list = ctx.porting->List(org->id, filter);
    if (as_json || !list) {
      rc = PrintEnvelope(list);
      return;
    }
    std::printf("%-32s %-22s %-8s %-11s %s\n", "ID", "STATUS", "NUMBERS", "FOC", "CREATED");
    for (const auto& r : list->at("port_requests").as_array()) {
      const auto& o = r.as_object();
      std::printf(
          "%-32s %-22s %-8zu %-11s %s\n", std::string(o.at("id").as_string()).c_str(),
          std::string(o.at("status").as_string()).c_str(), o.at("phone_numbers").as_array().size(),
          o.at("foc_date").is_null() ? "-" : std::string(o.at("foc_date").as_string()).c_str(),
          std::string(o.at("created_at").as_string()).c_str());
    }
    if (!list->at("next_cursor").is_null()) {
      std::printf("next: --cursor %s\n", std::string(list->at("next_cursor").as_string()).c_str());
    }
  });
  auto* port_show = port->add_subcommand("show", "Show one port request (JSON)");
  with_org(port_show);
  port_show->add_option("id", port_id, "port request id")->required();
  port_show->callback([&] {
    porting_call(
        [&](Context& ctx, const std::string& org) { return ctx.porting->Get(org, port_id); });
  });
  auto* port_events = port->add_subcommand("events", "Every change of a port request (JSON)");
  with_org(port_events);
  port_events->add_option("id", port_id, "port request id")->required();
  port_events->callback([&] {
    porting_call([&](Context& ctx, const std::string& org) {
      return ctx.porting->Events(org, port_id, 0, 1000);
    });
  });
  auto* port_cancel =
      port->add_subcommand("cancel", "Cancel a port request, or one number of it (--number)");
  with_org(port_cancel);
  port_cancel->add_option("id", port_id, "port request id")->required();
  port_cancel->add_option("--number", cancel_number, "only this E.164 number");
  port_cancel->callback([&] {
    porting_call([&](Context& ctx, const std::string& org) {
      return cancel_number.empty()
                 ? ctx.porting->Cancel({org, "cli"}, port_id)
                 : ctx.porting->CancelNumber({org, "cli"}, port_id, cancel_number);
    });
  });
  auto* port_notes = port->add_subcommand("notes", "List the notes of a request, or --add one");
  with_org(port_notes);
  port_notes->add_option("id", port_id, "port request id")->required();
  port_notes->add_option("--add", note_text, "text of a new note");
  port_notes->callback([&] {
    porting_call([&](Context& ctx, const std::string& org) {
      return note_text.empty() ? ctx.porting->Notes(org, port_id)
                               : ctx.porting->AddNote({org, "cli"}, port_id,
                                                      boost::json::object{{"body", note_text}});
    });
  });
  auto* port_activate = port->add_subcommand(
      "activate", "Activate groups of an on-demand request (no group: list the groups)");
  with_org(port_activate);
  port_activate->add_option("id", port_id, "port request id")->required();
  port_activate->add_option("group_ids", group_ids, "activation group ids");
  port_activate->callback([&] {
    porting_call([&](Context& ctx, const std::string& org) {
      if (group_ids.empty()) {
        return ctx.porting->Activations(org, port_id);
      }
      boost::json::array ids;
      for (const auto& g : group_ids) {
        ids.emplace_back(g);
      }
      return ctx.porting->Activate({org, "cli"}, port_id,
                                   boost::json::object{{"group_ids", std::move(ids)}});
    });
  });

  // sandbox clock|advance|accounts: the simulated carrier network of a sandbox organization.
  auto* sandbox =
      app.add_subcommand("sandbox", "Sandbox organizations: clock and carrier accounts");
  sandbox->require_subcommand(1);
  auto* sandbox_clock = sandbox->add_subcommand("clock", "Show the sandbox clock");
  with_org(sandbox_clock);
  sandbox_clock->callback([&] {
    porting_call(
        [&](Context& ctx, const std::string& org) { return ctx.porting->SandboxClock(org); });
  });
  std::int64_t adv_days = 0;
  std::int64_t adv_hours = 0;
  std::int64_t adv_business = 0;
  std::string adv_to;
  auto* sandbox_advance = sandbox->add_subcommand(
      "advance", "Move the sandbox clock forward, running every step due on the way");
  with_org(sandbox_advance);
  sandbox_advance->add_option("--days", adv_days, "calendar days")->check(CLI::Range(0, 400));
  sandbox_advance->add_option("--hours", adv_hours, "hours")->check(CLI::Range(0, 9600));
  sandbox_advance->add_option("--business-days", adv_business, "business days")
      ->check(CLI::Range(0, 250));
  sandbox_advance->add_option("--to", adv_to, "RFC 3339 time to move to");
  sandbox_advance->callback([&] {
    boost::json::object body;
    if (adv_days > 0) {
      body["days"] = adv_days;
    }
    if (adv_hours > 0) {
      body["hours"] = adv_hours;
    }
    if (adv_business > 0) {
      body["business_days"] = adv_business;
    }
    if (!adv_to.empty()) {
      body["to"] = adv_to;
    }
    porting_call(
        [&](Context& ctx, const std::string& org) { return ctx.porting->AdvanceClock(org, body); });
  });
  auto* sandbox_accounts = sandbox->add_subcommand(
      "accounts", "List simulated subscriber accounts, or create one (--json/--file)");
  with_org(sandbox_accounts);
  sandbox_accounts->add_option("--json", body_json, "account as JSON (POST /v1/sandbox/accounts)");
  sandbox_accounts->add_option("--file", body_file, "file with the account (- for stdin)");
  sandbox_accounts->callback([&] {
    porting_call([&](Context& ctx, const std::string& org) -> portline::Result<boost::json::value> {
      PORTLINE_ASSIGN_OR_RETURN(bool is_sandbox, ctx.porting->IsSandbox(org));
      if (!is_sandbox) {
        return portline::Fail(portline::Errc::kNotFound,
                              "organization is live: it has no sandbox accounts");
      }
      if (body_json.empty() && body_file.empty()) {
        return ctx.simulator->ListAccounts(org);
      }
      PORTLINE_ASSIGN_OR_RETURN(auto body, ReadBody(body_json, body_file));
      return ctx.simulator->CreateAccount(org, body);
    });
  });

  // lnp import: validate a CSV and install it where `serve` reads it (porting.lnp_file, or
  // DATA_DIR/lnp.csv); running servers pick it up within 10 s or on SIGHUP.
  auto* lnp_cmd = app.add_subcommand("lnp", "LNP (number portability) data");
  lnp_cmd->require_subcommand(1);
  std::string lnp_source;
  std::string carriers_source;
  auto* lnp_import = lnp_cmd->add_subcommand("import", "Validate and install an LNP CSV file");
  AddCommonFlags(lnp_import, flags);
  lnp_import->add_option("file", lnp_source, "CSV: prefix|block|ported,KEY,SPID per line")
      ->required();
  lnp_import->add_option("--carriers", carriers_source,
                         "the carrier registry CSV its SPIDs refer to; installed as "
                         "carriers.csv beside it");
  lnp_import->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (!cfg) {
      PrintError(cfg.error());
      rc = kExitConfig;
      return;
    }
    std::ifstream in(lnp_source);
    if (!in) {
      std::fprintf(stderr, "portline: cannot read %s\n", lnp_source.c_str());
      rc = 1;
      return;
    }
    const std::string target = cfg->lnp_file.empty()
                                   ? (std::filesystem::path(cfg->data_dir) / "lnp.csv").string()
                                   : cfg->lnp_file;
    // The SPIDs are checked against the registry given, else the one serve would use.
    auto with_target = *cfg;
    with_target.lnp_file = target;
    auto registry = carriers_source.empty()
                        ? portline::app::LoadCarriers(with_target)
                        : portline::numbering::CarrierRegistry::LoadFile(carriers_source);
    if (!registry) {
      PrintError(registry.error());
      rc = 1;
      return;
    }
    auto index = portline::numbering::LnpIndex::LoadCsv(in, *registry);
    if (!index) {
      PrintError(index.error());
      rc = 1;
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(target).parent_path(), ec);
    // Atomic installs: readers see the old or the new file. The registry goes first, so a
    // server reloading the new LNP file already has its carriers (after a restart).
    auto install = [&ec](const std::string& from, const std::string& to) {
      const std::string tmp = to + ".tmp";
      std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing, ec);
      if (!ec) {
        std::filesystem::rename(tmp, to, ec);
      }
      if (ec) {
        std::fprintf(stderr, "portline: cannot install %s: %s\n", to.c_str(), ec.message().c_str());
      }
      return !ec;
    };
    const std::string registry_target =
        cfg->carriers_file.empty()
            ? (std::filesystem::path(target).parent_path() / "carriers.csv").string()
            : cfg->carriers_file;
    if ((!carriers_source.empty() && !install(carriers_source, registry_target)) ||
        !install(lnp_source, target)) {
      rc = 1;
      return;
    }
    std::printf("installed %s: %zu prefixes, %zu blocks, %zu ported numbers\n", target.c_str(),
                index->assigned_prefixes(), index->block_count(), index->ported_count());
    if (cfg->lnp_file.empty()) {
      std::printf("set porting.lnp_file (PORTLINE_LNP_FILE) to %s for serve to use it\n",
                  target.c_str());
    }
  });

  portline::cli::AddSipCommands(app, flags, rc);
  portline::cli::AddWebhookCommands(app, rc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
