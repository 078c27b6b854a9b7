#include "app/services.hpp"

#include <filesystem>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "trunks/network.hpp"

namespace portline::app {

Result<std::unique_ptr<store::Database>> OpenStorage(const config::Config& cfg, int pool_size) {
  store::StoreOptions opts;
  opts.data_dir = cfg.data_dir;
  opts.database_url = cfg.database_url;
  opts.pool_size = pool_size;
  opts.sqlite_synchronous_full = cfg.sqlite_synchronous == "full";
  opts.statement_timeout = std::chrono::milliseconds(cfg.statement_timeout_ms);
  PORTLINE_ASSIGN_OR_RETURN(auto db, store::OpenDatabase(opts));
  PORTLINE_ASSIGN_OR_RETURN(auto applied, store::Migrate(*db));
  for (int v : applied) {
    log::Info("migration applied", {{"version", v}, {"storage", db->description()}});
  }
  return db;
}

numbering::CheckOptions CheckOptionsFrom(const config::Config& cfg) {
  numbering::CheckOptions opts;
  opts.min_port_days = static_cast<int>(cfg.min_port_days);
  opts.max_numbers = static_cast<std::size_t>(cfg.check_max_numbers);
  std::stringstream coverage(cfg.coverage);
  for (std::string code; std::getline(coverage, code, ',');) {
    if (!code.empty()) {
      opts.coverage.insert(code);
    }
  }
  return opts;
}

porting::PortingOptions PortingOptionsFrom(const config::Config& cfg, const Clock& clock) {
  porting::PortingOptions opts;
  opts.max_numbers = static_cast<std::size_t>(cfg.request_max_numbers);
  opts.min_port_days = static_cast<int>(cfg.min_port_days);
  opts.node_id = NewId("node", clock.Now());
  opts.lease = std::chrono::milliseconds(cfg.step_lease_ms);
  opts.live_gateway = !cfg.gateway.empty();
  if (!cfg.public_url.empty()) {
    opts.public_url = cfg.public_url;
  } else if (auto hp = config::SplitHostPort(cfg.listen)) {
    // Without server.public_url, links name the configured listener (a CLI command, too, must
    // print what the server serves); a wildcard address is reached on loopback.
    const std::string host = hp->first == "0.0.0.0" || hp->first.empty() ? "127.0.0.1"
                             : hp->first == "::"                         ? "[::1]"
                             : hp->first.find(':') != std::string::npos  ? "[" + hp->first + "]"
                                                                         : hp->first;
    opts.public_url = "http://" + host + ":" + std::to_string(hp->second);
  }
  return opts;
}

net::OutboundGuard OutboundGuardFrom(const config::Config& cfg) {
  std::vector<std::string> allow;
  for (std::string_view cidr : config::SplitList(cfg.outbound_allow)) {
    allow.emplace_back(cidr);
  }
  return net::OutboundGuard::FromList(allow).value_or(net::OutboundGuard{});
}

Result<numbering::CarrierRegistry> LoadCarriers(const config::Config& cfg) {
  std::string path = cfg.carriers_file;
  if (path.empty() && !cfg.lnp_file.empty()) {
    const auto beside = std::filesystem::path(cfg.lnp_file).parent_path() / "carriers.csv";
    std::error_code ec;
    if (std::filesystem::exists(beside, ec)) {
      path = beside.string();
    }
  }
  if (path.empty()) {
    return numbering::CarrierRegistry::Default();
  }
  return numbering::CarrierRegistry::LoadFile(path);
}

Services::~Services() = default;

Result<std::unique_ptr<Services>> Services::Build(const config::Config& cfg, const Clock& clock,
                                                  ServicesOptions options) {
  std::unique_ptr<Services> s(new Services(cfg, clock));
  PORTLINE_ASSIGN_OR_RETURN(s->db, OpenStorage(cfg, options.pool_size));
  s->accounts = std::make_unique<accounts::Accounts>(*s->db, clock);
  if (!cfg.default_org.empty()) {
    PORTLINE_RETURN_IF_ERROR(s->accounts->EnsureDefaultOrg(cfg.default_org).map([](auto&&) {}));
  }
  PORTLINE_ASSIGN_OR_RETURN(auto box, SecretBox::Load(cfg.secret_key, cfg.data_dir));
  s->box = std::make_unique<SecretBox>(std::move(box));
  // What /v1/sip/firewall-ips and /v1/sip/outbound-setup report: this deployment, as
  // configured (or a network file describing its regions); never another company's hosts.
  trunks::Deployment deployment;
  deployment.public_host = cfg.sip_public_host;
  for (std::size_t start = 0; start < cfg.sip_public_ips.size();) {
    const auto comma = cfg.sip_public_ips.find(',', start);
    const std::string ip = cfg.sip_public_ips.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!ip.empty()) {
      deployment.public_ips.push_back(ip);
    }
    start = comma == std::string::npos ? cfg.sip_public_ips.size() : comma + 1;
  }
  for (const auto& l :
       config::ParseSipListen(cfg.sip_listen).value_or(std::vector<config::SipListener>{})) {
    deployment.listeners.push_back({l.transport, l.port});
  }
  deployment.rtp_ports = cfg.sip_rtp_ports;
  PORTLINE_ASSIGN_OR_RETURN(auto network, trunks::Network::Load(cfg.sip_network_file, deployment));
  s->sip = std::make_unique<trunks::SipService>(*s->db, clock, *s->box, std::move(network));

  PORTLINE_ASSIGN_OR_RETURN(auto registry, LoadCarriers(cfg));
  s->carriers = std::make_unique<numbering::CarrierRegistry>(std::move(registry));
  const numbering::CarrierRegistry& carriers = *s->carriers;
  std::shared_ptr<const numbering::LnpIndex> index = options.lnp_index;
  if (!index) {
    PORTLINE_ASSIGN_OR_RETURN(
        auto loaded, options.with_lnp
                         ? numbering::LnpIndex::LoadFileOrDefault(cfg.lnp_file, carriers)
                         : Result<numbering::LnpIndex>(numbering::LnpIndex::Builder().Build()));
    index = std::make_shared<const numbering::LnpIndex>(std::move(loaded));
  }
  if (options.log_loading) {
    log::Info("lnp data loaded",
              {{"source", cfg.lnp_file.empty() ? "generated default" : cfg.lnp_file},
               {"carriers", static_cast<std::int64_t>(carriers.all().size() - 1)},
               {"prefixes", static_cast<std::int64_t>(index->assigned_prefixes())},
               {"ported", static_cast<std::int64_t>(index->ported_count())}});
  }
  s->lnp = std::make_unique<numbering::LnpService>(std::move(index));
  s->checker = std::make_unique<numbering::PortabilityChecker>(*s->lnp, carriers, clock,
                                                               CheckOptionsFrom(cfg));
  s->simulator = std::make_unique<carriers::SimulatedNetwork>(*s->db, carriers, clock);
  PORTLINE_RETURN_IF_ERROR(s->simulator->Seed());
  Services* self = s.get();
  // Every porting event of every node (a server, a CLI command) is recorded for webhooks in the
  // transaction that made it.
  s->porting_hooks.event_sink = [self](store::Connection& c,
                                       const std::vector<porting::EventRecord>& events) {
    std::vector<webhooks::WebhookService::NewEvent> records;
    records.reserve(events.size());
    for (const auto& e : events) {
      records.push_back({e.org_id, e.id, e.type, e.request_id, e.sequence, &e.data, e.at});
    }
    auto recorded =
        webhooks::WebhookService::RecordAll(c, records, ToUnixMillis(self->clock.Now()));
    if (recorded && self->notify_) {
      self->notify_();
    }
    return recorded;
  };
  s->porting_hooks.post_port = [self](std::string_view org, const std::vector<std::string>& numbers,
                                      const boost::json::object& config) {
    return self->sip->AttachPorted(org, numbers, config);
  };
  s->porting_hooks.validate_post_port = [self](std::string_view org,
                                               const boost::json::object& config) {
    return self->sip->ValidateAttach(org, config);
  };
  s->porting_hooks.validate_documents = [self](std::string_view org,
                                               const std::vector<std::string>& ids) {
    return self->documents->RequireAll(org, ids);
  };
  s->porting = std::make_unique<porting::PortingService>(*s->db, clock, *s->box, *s->checker,
                                                         carriers, *s->simulator, s->porting_hooks,
                                                         PortingOptionsFrom(cfg, clock));
  s->blobs =
      documents::MakeFileBlobStore((std::filesystem::path(cfg.data_dir) / "documents").string());
  s->documents = std::make_unique<documents::DocumentService>(*s->db, *s->blobs, clock);

  if (cfg.mail_transport == "smtp") {
    mail::SmtpOptions smtp;
    smtp.host = cfg.mail_smtp_host;
    smtp.port = static_cast<std::uint16_t>(cfg.mail_smtp_port);
    smtp.starttls = cfg.mail_smtp_starttls;
    smtp.username = cfg.mail_smtp_username;
    smtp.password = cfg.mail_smtp_password;
    smtp.ca_file = cfg.mail_smtp_ca_file;
    smtp.verify = cfg.mail_smtp_verify;
    s->mail_sender = mail::MakeSmtpSender(std::move(smtp));
  } else {
    s->mail_sender = mail::MakeOutboxSender(
        cfg.mail_outbox_dir.empty() ? (std::filesystem::path(cfg.data_dir) / "outbox").string()
                                    : cfg.mail_outbox_dir);
  }
  s->mail =
      std::make_unique<mail::MailService>(*s->db, *s->mail_sender, clock, *s->box, cfg.mail_from);
  webhooks::WebhookOptions hook_options;
  hook_options.ca_file = cfg.webhooks_ca_file;
  s->hooks = std::make_unique<webhooks::WebhookService>(*s->db, *s->box, clock,
                                                        OutboundGuardFrom(cfg), hook_options);
  return s;
}

std::unique_ptr<api::Api> Services::MakeApi(api::Metrics& metrics, api::ApiOptions options) const {
  auto api = std::make_unique<api::Api>(*accounts, *sip, *checker, *porting, simulator.get(), *db,
                                        clock, metrics, options);
  api->AddDocuments(*documents);
  api->AddEmails(*mail);
  api->AddWebhooks(*hooks);
  return api;
}

}  // namespace portline::app
