// `portline serve` and `portline migrate`.
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

void AddServerCommands(CLI::App& app, config::Flags& flags, int& rc) {
  // serve
  auto* serve = app.add_subcommand("serve", "Run the API server, the SIP engine and the workers");
  AddCommonFlags(serve, flags);
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (PORTLINE_LISTEN)");
  serve->add_option("--outbound-allow", flags.outbound_allow,
                    "CIDR that outbound connections to customer hosts may reach although it is "
                    "not public, e.g. 127.0.0.0/8 (repeatable; PORTLINE_OUTBOUND_ALLOW)");
  serve->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (Failed(cfg, rc, kExitConfig)) {
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
}

}  // namespace portline::cli
