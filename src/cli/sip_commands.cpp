// `portline sip options` and `portline sip lint`.
#include "cli/sip_commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "app/app.hpp"
#include "core/log.hpp"
#include "sip/endpoint.hpp"
#include "sip/message.hpp"

namespace portline::cli {
namespace {

namespace asio = boost::asio;

// Exit codes of `sip options`, for scripts: 0 = a 2xx, 3 = another final response,
// 1 = no response (timeout, transport, TLS or DNS failure), 2 = bad usage or configuration.
constexpr int kExitNon2xx = 3;

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

int RunOptions(const config::Flags& flags, const std::string& uri, const std::string& transport,
               int timeout_ms, const std::string& verify, const std::string& ca_file,
               const std::vector<std::string>& dns_servers, const std::string& username,
               bool as_json, bool verbose) {
  auto cfg = config::Load(flags, config::ProcessEnvironment());
  if (!cfg) {
    std::fprintf(stderr, "portline: %s\n", cfg.error().message.c_str());
    return 2;
  }
  log::Init(log::Level::kError);
  sip::EndpointOptions opts = app::SipOptionsFrom(*cfg, false);
  if (!verify.empty()) {
    auto v = sip::TlsVerifyFrom(verify);
    if (!v) {
      std::fprintf(stderr, "portline: --verify must be full, chain_only or none\n");
      return 2;
    }
    opts.tls.verify = *v;
  }
  if (!ca_file.empty()) {
    opts.tls.ca_file = ca_file;
  }
  if (!dns_servers.empty()) {
    opts.dns_servers = dns_servers;
  }
  sip::OptionsRequest req;
  req.uri = uri;
  req.timeout = std::chrono::milliseconds(timeout_ms);
  if (!transport.empty()) {
    req.transport = sip::TransportFrom(transport);
    if (!req.transport) {
      std::fprintf(stderr, "portline: --transport must be udp, tcp or tls\n");
      return 2;
    }
  }
  if (!username.empty()) {
    const char* password = std::getenv("PORTLINE_SIP_PASSWORD");
    if (password == nullptr) {
      std::fprintf(stderr, "portline: --username needs the password in PORTLINE_SIP_PASSWORD\n");
      return 2;
    }
    req.username = username;
    req.password = password;
  }

  asio::io_context io(1);
  sip::Endpoint endpoint(io, opts);
  if (auto started = endpoint.Start(); !started) {
    std::fprintf(stderr, "portline: %s\n", started.error().message.c_str());
    return 2;
  }
  std::optional<Result<sip::OptionsResult>> result;
  auto done = [&result](std::exception_ptr, Result<sip::OptionsResult> r) {
    result = std::move(r);
  };
  asio::co_spawn(io, endpoint.Options(req), done);
  while (!result && io.run_one() > 0) {
  }
  endpoint.Stop();
  if (!result) {
    std::fprintf(stderr, "portline: the probe did not finish\n");
    return 1;
  }
  if (!*result) {
    if (as_json) {
      boost::json::object o{{"uri", uri}, {"error", (*result).error().message}, {"code", nullptr}};
      std::printf("%s\n", boost::json::serialize(o).c_str());
    } else {
      std::fprintf(stderr, "portline: %s: %s\n", uri.c_str(), (*result).error().message.c_str());
    }
    return 1;
  }
  const sip::OptionsResult& r = **result;
  if (as_json) {
    boost::json::array codecs;
    for (const std::string& c : r.codecs) {
      codecs.emplace_back(c);
    }
    boost::json::array trace;
    for (const std::string& t : r.trace) {
      trace.emplace_back(t);
    }
    boost::json::object o{{"uri", uri},
                          {"code", r.code},
                          {"reason", r.reason},
                          {"rtt_ms", r.rtt_ms},
                          {"transport", std::string(sip::TransportName(r.transport))},
                          {"remote", r.remote},
                          {"server", r.server},
                          {"user_agent", r.user_agent},
                          {"allow", r.allow},
                          {"accept", r.accept},
                          {"supported", r.supported},
                          {"codecs", codecs},
                          {"transmissions", r.transmissions},
                          {"authenticated", r.authenticated},
                          {"trace", trace}};
    std::printf("%s\n", boost::json::serialize(o).c_str());
  } else {
    std::printf("%s: %d %s in %.2f ms over %s from %s\n", uri.c_str(), r.code, r.reason.c_str(),
                r.rtt_ms, std::string(sip::TransportName(r.transport)).c_str(), r.remote.c_str());
    auto line = [](const char* name, const std::string& v) {
      if (!v.empty()) {
        std::printf("  %-11s %s\n", name, v.c_str());
      }
    };
    line("Server:", r.server);
    line("User-Agent:", r.user_agent);
    line("Allow:", r.allow);
    line("Accept:", r.accept);
    line("Supported:", r.supported);
    line("Codecs:", Joined(r.codecs));
    if (verbose) {
      for (const std::string& t : r.trace) {
        std::printf("  > %s\n", t.c_str());
      }
      std::printf("%s", r.response.c_str());
    }
  }
  return r.code >= 200 && r.code < 300 ? 0 : kExitNon2xx;
}

int RunLint(const std::string& file) {
  std::string data;
  if (file == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "portline: cannot read %s\n", file.c_str());
      return 2;
    }
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto m = sip::ParseMessage(data);
  if (!m) {
    std::printf("error: %s\n", m.error().message.c_str());
    return 1;
  }
  const auto problems = sip::Validate(*m, sip::Depth::kFull);
  for (const sip::Problem& p : problems) {
    std::printf("error: %s: %s (an element would answer %d)\n", p.where.c_str(), p.what.c_str(),
                p.status);
  }
  if (m->Raw().size() < data.size() &&
      data.find_first_not_of("\r\n", m->Raw().size()) != std::string::npos) {
    std::printf("warning: %zu bytes after the message (beyond Content-Length) are ignored\n",
                data.size() - m->Raw().size());
  }
  if (!problems.empty()) {
    return 1;
  }
  if (m->IsRequest()) {
    std::printf("ok: %.*s request, %zu headers, %zu-byte body\n",
                static_cast<int>(m->Method().size()), m->Method().data(), m->Headers().size(),
                m->Body().size());
  } else {
    std::printf("ok: %d response, %zu headers, %zu-byte body\n", m->Status(), m->Headers().size(),
                m->Body().size());
  }
  return 0;
}

}  // namespace

void AddSipCommands(CLI::App& app, config::Flags& flags, int& rc) {
  auto* sip_cmd = app.add_subcommand("sip", "SIP tools: probe a peer, lint a message");
  sip_cmd->require_subcommand(1);

  struct OptionsArgs {
    std::string uri;
    std::string transport;
    int timeout_ms = 5000;
    std::string verify;
    std::string ca_file;
    std::vector<std::string> dns;
    std::string username;
    bool json = false;
    bool verbose = false;
  };
  auto args = std::make_shared<OptionsArgs>();
  auto* options = sip_cmd->add_subcommand(
      "options",
      "Send OPTIONS and print the answer: code, round-trip time and the peer's identity. "
      "Exit 0 on 2xx, 3 on another final response, 1 on no response");
  options->add_option("uri", args->uri, "sip:host[:port][;transport=…], sips:…, or a bare host")
      ->required();
  options->add_option("--transport", args->transport, "udp|tcp|tls (default: RFC 3263)");
  options->add_option("--timeout", args->timeout_ms, "milliseconds for the whole probe")
      ->check(CLI::Range(50, 120000));
  options->add_option("--verify", args->verify, "TLS verification: full|chain_only|none");
  options->add_option("--ca-file", args->ca_file, "PEM trust anchors for TLS");
  options->add_option("--dns-server", args->dns, "host:port of a DNS server (repeatable)");
  options->add_option("--username", args->username,
                      "digest user for a 401/407 (password in PORTLINE_SIP_PASSWORD)");
  options->add_flag("--json", args->json, "machine-readable output");
  options->add_flag("-v,--verbose", args->verbose, "DNS steps, attempts and the raw response");
  options->add_option("--config", flags.config_file, "JSON config file (or PORTLINE_CONFIG)");
  options->callback([args, &flags, &rc] {
    rc = RunOptions(flags, args->uri, args->transport, args->timeout_ms, args->verify,
                    args->ca_file, args->dns, args->username, args->json, args->verbose);
  });

  auto file = std::make_shared<std::string>();
  auto* lint = sip_cmd->add_subcommand(
      "lint", "Parse a SIP message and report every problem (exit 1 if there is one)");
  lint->add_option("file", *file, "message file, or - for standard input")->required();
  lint->callback([file, &rc] { rc = RunLint(*file); });
}

}  // namespace portline::cli
