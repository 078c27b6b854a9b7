// `portline`: one binary for the server and its admin/client commands. Each command group
// lives in its own file (server, org, trunk, port, lnp, sip, webhook commands).
#include <CLI/CLI.hpp>
#include <csignal>

#include "cli/common.hpp"
#include "cli/sip_commands.hpp"

int main(int argc, char** argv) {
  // A peer that closes while we write (a webhook receiver, an SMTP relay, over TLS: OpenSSL
  // writes with plain write()) must cost a failed delivery, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Portline: number porting and SIP trunking platform"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("portline ") + PORTLINE_VERSION);

  portline::config::Flags flags;
  int rc = 0;
  portline::cli::Args args;
  portline::cli::AddServerCommands(app, flags, rc);
  portline::cli::AddOrgCommands(app, flags, args, rc);
  portline::cli::AddTrunkCommands(app, flags, args, rc);
  portline::cli::AddPortCommands(app, flags, args, rc);
  portline::cli::AddLnpCommands(app, flags, args, rc);
  portline::cli::AddSipCommands(app, flags, rc);
  portline::cli::AddWebhookCommands(app, rc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
