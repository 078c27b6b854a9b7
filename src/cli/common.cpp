#include "cli/common.hpp"

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/crypto.hpp"

namespace portline::cli {

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

int Open(const config::Flags& flags, Context& ctx, bool quiet_logs, bool with_lnp) {
  auto cfg = config::Load(flags, config::ProcessEnvironment());
  if (!cfg) {
    PrintError(cfg.error());
    return kExitConfig;
  }
  ctx.cfg = *cfg;
  log::Level level{};
  (void)log::ParseLevel(ctx.cfg.log_level, level);
  if (quiet_logs && !flags.log_level) {
    level = log::Level::kWarn;  // admin commands keep stdout/stderr for their output
  }
  log::Init(level);
  InitCrypto();
  auto built = app::Services::Build(ctx.cfg, ctx.clock,
                                    app::ServicesOptions{.pool_size = 2, .with_lnp = with_lnp});
  if (!built) {
    PrintError(built.error());
    return built.error().code == Errc::kInvalidArgument ? kExitConfig : 1;
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

std::optional<accounts::Organization> OpenOrg(const config::Flags& flags, const std::string& org,
                                              Context& ctx, int& rc, bool with_lnp) {
  if ((rc = Open(flags, ctx, true, with_lnp)) != 0) {
    return std::nullopt;
  }
  auto found = ctx.accounts->FindOrg(org);
  if (Failed(found, rc)) {
    return std::nullopt;
  }
  return std::move(*found);
}

Result<boost::json::object> ReadBody(const std::string& json_text, const std::string& file) {
  std::string text = json_text;
  if (!file.empty()) {
    std::stringstream buf;
    if (file == "-") {
      buf << std::cin.rdbuf();
    } else {
      std::ifstream in(file);
      if (!in) {
        return Fail(Errc::kInvalidArgument, "cannot read " + file);
      }
      buf << in.rdbuf();
    }
    text = buf.str();
  }
  if (text.empty()) {
    return Fail(Errc::kInvalidArgument,
                "give the request as --json '{...}' or --file PATH (- for stdin)");
  }
  PORTLINE_ASSIGN_OR_RETURN(auto value, ParseJson(text));
  if (!value.is_object()) {
    return Fail(Errc::kInvalidArgument, "the request must be a JSON object");
  }
  return std::move(value.as_object());
}

int PrintEnvelope(const Result<boost::json::value>& r) {
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
  return ms ? FormatRfc3339(FromUnixMillis(*ms)) : "-";
}

}  // namespace portline::cli
