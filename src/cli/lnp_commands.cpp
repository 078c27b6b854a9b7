// `portline lnp import`: validate an LNP CSV (and its carrier registry) and install it.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/common.hpp"

namespace portline::cli {

void AddLnpCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc) {
  // lnp import: validate a CSV and install it where `serve` reads it (porting.lnp_file, or
  // DATA_DIR/lnp.csv); running servers pick it up within 10 s or on SIGHUP.
  auto* lnp_cmd = app.add_subcommand("lnp", "LNP (number portability) data");
  lnp_cmd->require_subcommand(1);
  auto* lnp_import = lnp_cmd->add_subcommand("import", "Validate and install an LNP CSV file");
  AddCommonFlags(lnp_import, flags);
  lnp_import->add_option("file", args.lnp_source, "CSV: prefix|block|ported,KEY,SPID per line")
      ->required();
  lnp_import->add_option("--carriers", args.carriers_source,
                         "the carrier registry CSV its SPIDs refer to; installed as "
                         "carriers.csv beside it");
  lnp_import->callback([&] {
    auto cfg = config::Load(flags, config::ProcessEnvironment());
    if (Failed(cfg, rc, kExitConfig)) {
      return;
    }
    std::ifstream in(args.lnp_source);
    if (!in) {
      std::fprintf(stderr, "portline: cannot read %s\n", args.lnp_source.c_str());
      rc = 1;
      return;
    }
    const std::string target = cfg->lnp_file.empty()
                                   ? (std::filesystem::path(cfg->data_dir) / "lnp.csv").string()
                                   : cfg->lnp_file;
    // The SPIDs are checked against the registry given, else the one serve would use.
    auto with_target = *cfg;
    with_target.lnp_file = target;
    auto registry = args.carriers_source.empty()
                        ? portline::app::LoadCarriers(with_target)
                        : portline::numbering::CarrierRegistry::LoadFile(args.carriers_source);
    if (Failed(registry, rc)) {
      return;
    }
    auto index = portline::numbering::LnpIndex::LoadCsv(in, *registry);
    if (Failed(index, rc)) {
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
    if ((!args.carriers_source.empty() && !install(args.carriers_source, registry_target)) ||
        !install(args.lnp_source, target)) {
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
}

}  // namespace portline::cli
