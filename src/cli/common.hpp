#pragma once
// What the `portline` command groups share: flags, opening the services as `serve` does,
// reading request bodies, printing results and errors.

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "app/app.hpp"
#include "app/services.hpp"
#include "carriers/simulator.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
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

namespace portline::cli {

/// Bad usage or configuration.
constexpr int kExitConfig = 2;

/// The options and arguments of every command, owned by main so they outlive parsing.
struct Args {
  std::string org_name;
  std::vector<std::string> entitlements;
  bool sandbox_org = false;
  std::string entitlement;
  bool revoke_entitlement = false;
  std::string key_name;
  std::string key_id;
  bool rotate = false;
  std::string body_json;
  std::string body_file;
  std::string number;
  std::string input;
  int limit = 100;
  std::string cursor;
  std::vector<std::string> check_numbers;
  bool as_json = false;
  std::string port_id;
  std::string status_filter;
  std::string cancel_number;
  std::string note_text;
  std::vector<std::string> group_ids;
  std::int64_t adv_days = 0;
  std::int64_t adv_hours = 0;
  std::int64_t adv_business = 0;
  std::string adv_to;
  std::string lnp_source;
  std::string carriers_source;
};

/// The error (or each of its field errors) on stderr.
void PrintError(const Error& e);

/// The one exit for a failed step: prints the error, sets the exit code, and says so.
template <typename T>
[[nodiscard]] bool Failed(const Result<T>& r, int& rc, int code = 1) {
  if (r) {
    return false;
  }
  PrintError(r.error());
  rc = code;
  return true;
}

/// --config, --data-dir, --database-url, --log-level.
void AddCommonFlags(CLI::App* cmd, config::Flags& flags);

/// Loads config, logs to stderr, and builds the services as `serve` does (app::Services, the
/// one composition root): a CLI command is one more node of the workflow, and what it changes
/// reaches the webhook outbox and the e-mail outbox like a change made through the API.
struct Context {
  config::Config cfg;
  SystemClock clock;
  std::unique_ptr<app::Services> services;
  store::Database* db = nullptr;
  accounts::Accounts* accounts = nullptr;
  SecretBox* box = nullptr;
  trunks::SipService* sip = nullptr;
  numbering::LnpService* lnp = nullptr;
  numbering::PortabilityChecker* checker = nullptr;
  carriers::SimulatedNetwork* simulator = nullptr;
  porting::PortingService* porting = nullptr;
};

/// Opens `ctx`; the exit code (0 when open). Only creating a request checks portability: the
/// other commands skip loading the LNP data (`with_lnp` false gives the checker an empty index
/// it never consults).
[[nodiscard]] int Open(const config::Flags& flags, Context& ctx, bool quiet_logs = true,
                       bool with_lnp = false);

/// Opens `ctx` (as Open) and finds the organization `org` (id or name); nullopt, with the error
/// printed and `rc` set, when either fails.
[[nodiscard]] std::optional<accounts::Organization> OpenOrg(const config::Flags& flags,
                                                            const std::string& org, Context& ctx,
                                                            int& rc, bool with_lnp = false);

/// The request body of a command: --json TEXT or --file PATH ("-" = stdin).
[[nodiscard]] Result<boost::json::object> ReadBody(const std::string& json_text,
                                                   const std::string& file);

/// Prints the API envelope; returns the exit code (0, or 1 with the errors on stderr too).
[[nodiscard]] int PrintEnvelope(const Result<boost::json::value>& r);

/// "a,b,c", or "-" for none.
[[nodiscard]] std::string Join(const std::vector<std::string>& v);
/// RFC 3339, or "-".
[[nodiscard]] std::string Ts(std::optional<std::int64_t> ms);

void AddServerCommands(CLI::App& app, config::Flags& flags, int& rc);
void AddOrgCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc);
void AddTrunkCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc);
void AddPortCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc);
void AddLnpCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc);

}  // namespace portline::cli
