// `portline webhooks verify`: checks a delivery's Standard Webhooks signature, as a receiver
// would (and shows receivers how).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/sip_commands.hpp"
#include "webhooks/signing.hpp"

namespace portline::cli {

void AddWebhookCommands(CLI::App& app, int& rc) {
  auto* cmd = app.add_subcommand("webhooks", "Webhook tools");
  cmd->require_subcommand(1);
  struct Args {
    std::vector<std::string> secrets;
    std::string id, timestamp, signature, file = "-";
    int tolerance = 300;
  };
  auto a = std::make_shared<Args>();
  auto* verify = cmd->add_subcommand(
      "verify", "Verify a delivery: exit 0 when a signature matches and the timestamp is fresh");
  verify->add_option("--secret", a->secrets, "whsec_… (repeatable, e.g. during a rotation)")
      ->required();
  verify->add_option("--id", a->id, "the webhook-id header")->required();
  verify->add_option("--timestamp", a->timestamp, "the webhook-timestamp header")->required();
  verify->add_option("--signature", a->signature, "the webhook-signature header")->required();
  verify->add_option("--tolerance", a->tolerance, "seconds of clock skew allowed (default 300)");
  verify->add_option("body", a->file, "file with the raw request body, or - for stdin");
  verify->callback([a, &rc] {
    std::string body;
    if (a->file == "-") {
      body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(a->file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "portline: cannot read %s\n", a->file.c_str());
        rc = 2;
        return;
      }
      body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto ok =
        webhooks::Verify(a->secrets, a->id, a->timestamp, a->signature, body,
                         std::chrono::system_clock::now(), std::chrono::seconds(a->tolerance));
    if (!ok) {
      std::printf("invalid: %s\n", ok.error().message.c_str());
      rc = 1;
      return;
    }
    std::printf("valid\n");
    rc = 0;
  });
}

}  // namespace portline::cli
