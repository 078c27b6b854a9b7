// `portline`: one binary for the server and its admin/client commands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "accounts/accounts.hpp"
#include "app/app.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "store/database.hpp"

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

// Loads config, logs to stderr, opens storage: what every admin command needs.
struct Context {
  config::Config cfg;
  std::unique_ptr<portline::store::Database> db;
  portline::SystemClock clock;
  std::unique_ptr<portline::accounts::Accounts> accounts;
};

int Open(const config::Flags& flags, Context& ctx, bool quiet_logs = true) {
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
  auto db = portline::app::OpenStorage(ctx.cfg, 1);
  if (!db) {
    PrintError(db.error());
    return 1;
  }
  ctx.db = std::move(*db);
  ctx.accounts = std::make_unique<portline::accounts::Accounts>(*ctx.db, ctx.clock);
  // Same start-up rule as `serve`, so `key create --org default` works on a fresh data dir.
  if (!ctx.cfg.default_org.empty()) {
    if (auto org = ctx.accounts->EnsureDefaultOrg(ctx.cfg.default_org); !org) {
      PrintError(org.error());
      return 1;
    }
  }
  return 0;
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
  CLI::App app{"Portline: number porting and SIP trunking platform"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("portline ") + PORTLINE_VERSION);

  config::Flags flags;
  int rc = 0;

  // serve
  auto* serve = app.add_subcommand("serve", "Run the API server (and, later, SIP and workers)");
  AddCommonFlags(serve, flags);
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (PORTLINE_LISTEN)");
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
  auto* org = app.add_subcommand("org", "Manage organizations");
  org->require_subcommand(1);
  std::string org_name;
  std::vector<std::string> entitlements;
  auto* org_create = org->add_subcommand("create", "Create an organization; prints its id");
  AddCommonFlags(org_create, flags);
  org_create->add_option("name", org_name, "organization name")->required();
  org_create->add_option("--entitlement", entitlements, "entitlement to grant (repeatable): SIP");
  org_create->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto created = ctx.accounts->CreateOrg(org_name, entitlements);
    if (!created) {
      PrintError(created.error());
      rc = 1;
      return;
    }
    std::printf("%s\n", created->id.c_str());
  });

  auto* org_list = org->add_subcommand("list", "List organizations");
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
      std::printf("%s\t%s\t%s\t%s\n", o.id.c_str(), o.name.c_str(), Join(o.entitlements).c_str(),
                  Ts(o.created_at).c_str());
    }
  });

  std::string entitlement;
  bool revoke_entitlement = false;
  auto* org_entitle = org->add_subcommand("entitle", "Grant (or --revoke) an entitlement");
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
