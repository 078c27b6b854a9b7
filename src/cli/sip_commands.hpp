#pragma once

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace portline::cli {

/// Adds `sip options` and `sip lint`; a command's exit code goes to `rc`.
void AddSipCommands(CLI::App& app, config::Flags& flags, int& rc);
/// Adds `webhooks verify`.
void AddWebhookCommands(CLI::App& app, int& rc);

}  // namespace portline::cli
