// `portline trunk`: the /v1/sip configuration surface against the configured storage.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/common.hpp"

namespace portline::cli {

void AddTrunkCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc) {
  // trunk: the /v1/sip surface from the command line, against the configured storage.
  auto* trunk = app.add_subcommand("trunk", "SIP trunk configuration (same rules as /v1/sip)");
  trunk->require_subcommand(1);
  using Method = portline::Result<boost::json::value> (portline::trunks::SipService::*)(
      std::string_view, const boost::json::object&);
  auto body_command = [&](const char* name, const char* help, Method method) {
    auto* cmd = trunk->add_subcommand(name, help);
    AddCommonFlags(cmd, flags);
    cmd->add_option("--org", args.org_name, "organization id or name")->required();
    cmd->add_option("--json", args.body_json, "request body as JSON");
    cmd->add_option("--file", args.body_file, "file with the request body (- for stdin)");
    cmd->callback([&, method] {
      Context ctx;
      const auto org = OpenOrg(flags, args.org_name, ctx, rc);
      if (!org) {
        return;
      }
      auto body = ReadBody(args.body_json, args.body_file);
      if (Failed(body, rc)) {
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
  trunk_show->add_option("--org", args.org_name, "organization id or name")->required();
  trunk_show->add_option("phone_number", args.number, "E.164 number")->required();
  trunk_show->callback([&] {
    Context ctx;
    if (const auto org = OpenOrg(flags, args.org_name, ctx, rc)) {
      rc = PrintEnvelope(ctx.sip->Get(org->id, args.number));
    }
  });

  auto* trunk_list = trunk->add_subcommand("list", "List numbers with SIP configuration");
  AddCommonFlags(trunk_list, flags);
  trunk_list->add_option("--org", args.org_name, "organization id or name")->required();
  trunk_list->add_option("--limit", args.limit, "page size (1-1000)")->check(CLI::Range(1, 1000));
  trunk_list->add_option("--cursor", args.cursor, "next_cursor of the previous page");
  trunk_list->callback([&] {
    Context ctx;
    if (const auto org = OpenOrg(flags, args.org_name, ctx, rc)) {
      const auto after =
          args.cursor.empty() ? std::nullopt : std::optional<std::string>(args.cursor);
      rc = PrintEnvelope(ctx.sip->ListNumbers(org->id, after, args.limit));
    }
  });

  auto* trunk_parse = trunk->add_subcommand("parse", "Parse a SIP destination (no storage needed)");
  trunk_parse->add_option("input", args.input, "e.g. sip:pbx.example.com:5061;transport=tls")
      ->required();
  trunk_parse->callback([&] {
    rc = PrintEnvelope(portline::trunks::SipService::ParseDestinationRequest(
        boost::json::object{{"input", args.input}}));
  });
}

}  // namespace portline::cli
