// `portline port` (check, create, list, show, events, cancel, notes, activate) and
// `portline sandbox` (clock, advance, accounts): the porting API in process.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include "cli/common.hpp"

namespace portline::cli {
namespace {

// Runs `fn(ctx, org_id)` with the porting service open, for the organization of --org, and
// prints the envelope. A function, not a lambda: the commands' callbacks run after
// AddPortCommands has returned.
void PortingCall(const config::Flags& flags, const Args& args, int& rc,
                 const std::function<Result<boost::json::value>(Context&, const std::string&)>& fn,
                 bool with_lnp = false) {
  Context ctx;
  if (const auto org = OpenOrg(flags, args.org_name, ctx, rc, with_lnp)) {
    rc = PrintEnvelope(fn(ctx, org->id));
  }
}

}  // namespace

void AddPortCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc) {
  // port check: the portability check of GET /v1/sip/port/check, from the command line.
  auto* port = app.add_subcommand("port", "Number porting");
  port->require_subcommand(1);
  auto* port_check =
      port->add_subcommand("check", "Check portability of numbers ('-' reads stdin)");
  AddCommonFlags(port_check, flags);
  port_check->add_option("numbers", args.check_numbers, "E.164 numbers, or - to read one per line")
      ->required();
  port_check->add_option("--org", args.org_name, "organization (for already_on_platform)");
  port_check->add_flag("--json", args.as_json, "print the API envelope instead of a table");
  port_check->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (Failed(cfg, rc, kExitConfig)) {
      return;
    }
    portline::log::Init(portline::log::Level::kWarn);
    std::vector<std::string> numbers;
    for (const auto& n : args.check_numbers) {
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
    if (Failed(registry, rc)) {
      return;
    }
    const auto& carriers = *registry;
    auto index = portline::numbering::LnpIndex::LoadFileOrDefault(cfg->lnp_file, carriers);
    if (Failed(index, rc)) {
      return;
    }
    portline::numbering::LnpService lnp(
        std::make_shared<const portline::numbering::LnpIndex>(std::move(*index)));
    const auto opts = portline::app::CheckOptionsFrom(*cfg);
    portline::SystemClock clock;
    portline::numbering::PortabilityChecker checker(lnp, carriers, clock, opts);
    std::map<std::string, portline::numbering::HeldBy> held;
    if (!args.org_name.empty()) {
      Context ctx;
      const auto org = OpenOrg(flags, args.org_name, ctx, rc);
      if (!org) {
        return;
      }
      std::vector<std::string> e164;
      for (const auto& n : numbers) {
        if (auto parsed = portline::numbering::ParseNanp(n)) {
          e164.push_back(parsed->E164());
        }
      }
      auto found = ctx.porting->NumbersHeld(org->id, e164);
      if (Failed(found, rc)) {
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
    if (args.as_json) {
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
  auto with_org = [&](CLI::App* cmd) {
    AddCommonFlags(cmd, flags);
    cmd->add_option("--org", args.org_name, "organization id or name")->required();
  };
  auto* port_create =
      port->add_subcommand("create", "Create a port request (POST /v1/sip/port/initiate body)");
  with_org(port_create);
  port_create->add_option("--json", args.body_json, "request body as JSON");
  port_create->add_option("--file", args.body_file, "file with the request body (- for stdin)");
  port_create->callback([&] {
    auto body = ReadBody(args.body_json, args.body_file);
    if (Failed(body, rc)) {
      return;
    }
    PortingCall(
        flags, args, rc,
        [&](Context& ctx, const std::string& org) {
          return ctx.porting->Create({org, "cli"}, *body);
        },
        /*with_lnp=*/true);
  });
  auto* port_list = port->add_subcommand("list", "List port requests, newest first");
  with_org(port_list);
  port_list->add_option("--status", args.status_filter, "status filter, e.g. in_progress");
  port_list->add_option("--limit", args.limit, "page size (1-100)")->check(CLI::Range(1, 100));
  port_list->add_option("--cursor", args.cursor, "next_cursor of the previous page");
  port_list->add_flag("--json", args.as_json, "print the API envelope instead of a table");
  port_list->callback([&] {
    Context ctx;
    const auto org = OpenOrg(flags, args.org_name, ctx, rc);
    if (!org) {
      return;
    }
    portline::porting::ListFilter filter;
    if (!args.status_filter.empty()) {
      filter.statuses.push_back(args.status_filter);
    }
    filter.limit = std::min(args.limit, 100);
    if (!args.cursor.empty()) {
      filter.after = args.cursor;
    }
    auto list = ctx.porting->List(org->id, filter);
    if (args.as_json || !list) {
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
  port_show->add_option("id", args.port_id, "port request id")->required();
  port_show->callback([&] {
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return ctx.porting->Get(org, args.port_id);
    });
  });
  auto* port_events = port->add_subcommand("events", "Every change of a port request (JSON)");
  with_org(port_events);
  port_events->add_option("id", args.port_id, "port request id")->required();
  port_events->callback([&] {
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return ctx.porting->Events(org, args.port_id, 0, 1000);
    });
  });
  auto* port_cancel =
      port->add_subcommand("cancel", "Cancel a port request, or one number of it (--number)");
  with_org(port_cancel);
  port_cancel->add_option("id", args.port_id, "port request id")->required();
  port_cancel->add_option("--number", args.cancel_number, "only this E.164 number");
  port_cancel->callback([&] {
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return args.cancel_number.empty()
                 ? ctx.porting->Cancel({org, "cli"}, args.port_id)
                 : ctx.porting->CancelNumber({org, "cli"}, args.port_id, args.cancel_number);
    });
  });
  auto* port_notes = port->add_subcommand("notes", "List the notes of a request, or --add one");
  with_org(port_notes);
  port_notes->add_option("id", args.port_id, "port request id")->required();
  port_notes->add_option("--add", args.note_text, "text of a new note");
  port_notes->callback([&] {
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return args.note_text.empty()
                 ? ctx.porting->Notes(org, args.port_id)
                 : ctx.porting->AddNote({org, "cli"}, args.port_id,
                                        boost::json::object{{"body", args.note_text}});
    });
  });
  auto* port_activate = port->add_subcommand(
      "activate", "Activate groups of an on-demand request (no group: list the groups)");
  with_org(port_activate);
  port_activate->add_option("id", args.port_id, "port request id")->required();
  port_activate->add_option("group_ids", args.group_ids, "activation group ids");
  port_activate->callback([&] {
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      if (args.group_ids.empty()) {
        return ctx.porting->Activations(org, args.port_id);
      }
      boost::json::array ids;
      for (const auto& g : args.group_ids) {
        ids.emplace_back(g);
      }
      return ctx.porting->Activate({org, "cli"}, args.port_id,
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
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return ctx.porting->SandboxClock(org);
    });
  });
  auto* sandbox_advance = sandbox->add_subcommand(
      "advance", "Move the sandbox clock forward, running every step due on the way");
  with_org(sandbox_advance);
  sandbox_advance->add_option("--days", args.adv_days, "calendar days")->check(CLI::Range(0, 400));
  sandbox_advance->add_option("--hours", args.adv_hours, "hours")->check(CLI::Range(0, 9600));
  sandbox_advance->add_option("--business-days", args.adv_business, "business days")
      ->check(CLI::Range(0, 250));
  sandbox_advance->add_option("--to", args.adv_to, "RFC 3339 time to move to");
  sandbox_advance->callback([&] {
    boost::json::object body;
    if (args.adv_days > 0) {
      body["days"] = args.adv_days;
    }
    if (args.adv_hours > 0) {
      body["hours"] = args.adv_hours;
    }
    if (args.adv_business > 0) {
      body["business_days"] = args.adv_business;
    }
    if (!args.adv_to.empty()) {
      body["to"] = args.adv_to;
    }
    PortingCall(flags, args, rc, [&](Context& ctx, const std::string& org) {
      return ctx.porting->AdvanceClock(org, body);
    });
  });
  auto* sandbox_accounts = sandbox->add_subcommand(
      "accounts", "List simulated subscriber accounts, or create one (--json/--file)");
  with_org(sandbox_accounts);
  sandbox_accounts->add_option("--json", args.body_json,
                               "account as JSON (POST /v1/sandbox/accounts)");
  sandbox_accounts->add_option("--file", args.body_file, "file with the account (- for stdin)");
  sandbox_accounts->callback([&] {
    PortingCall(flags, args, rc,
                [&](Context& ctx, const std::string& org) -> portline::Result<boost::json::value> {
                  PORTLINE_ASSIGN_OR_RETURN(bool is_sandbox, ctx.porting->IsSandbox(org));
                  if (!is_sandbox) {
                    return portline::Fail(portline::Errc::kNotFound,
                                          "organization is live: it has no sandbox accounts");
                  }
                  if (args.body_json.empty() && args.body_file.empty()) {
                    return ctx.simulator->ListAccounts(org);
                  }
                  PORTLINE_ASSIGN_OR_RETURN(auto body, ReadBody(args.body_json, args.body_file));
                  return ctx.simulator->CreateAccount(org, body);
                });
  });
}

}  // namespace portline::cli
