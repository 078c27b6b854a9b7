#pragma once
// The one composition root of the domain: every service `portline serve` runs, built with its
// required dependencies (storage, clock, server key, event sink, validators) in one place, so a
// CLI command is the same node as the server. Before this, the CLI built its own porting service
// without the webhook event sink, so `portline port cancel` and friends never reached webhooks.

#include <functional>
#include <memory>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "api/metrics.hpp"
#include "carriers/simulator.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/net_guard.hpp"
#include "core/secret_box.hpp"
#include "documents/service.hpp"
#include "mail/mail.hpp"
#include "numbering/check.hpp"
#include "numbering/lnp.hpp"
#include "porting/service.hpp"
#include "store/database.hpp"
#include "trunks/service.hpp"
#include "webhooks/service.hpp"

namespace portline::app {

/// Opens storage as configured (SQLite under data_dir, or PostgreSQL) and applies migrations.
[[nodiscard]] Result<std::unique_ptr<store::Database>> OpenStorage(const config::Config& cfg,
                                                                   int pool_size);

/// Portability-check options from the configuration (porting.*; coverage is "CA,NY,ON").
[[nodiscard]] numbering::CheckOptions CheckOptionsFrom(const config::Config& cfg);

/// Port-request options from the configuration; `node_id` is unique per process (leases name it).
[[nodiscard]] porting::PortingOptions PortingOptionsFrom(const config::Config& cfg,
                                                         const Clock& clock);

/// The SSRF guard of outbound connections to customer hosts (security.outbound_allow).
[[nodiscard]] net::OutboundGuard OutboundGuardFrom(const config::Config& cfg);

/// The carrier registry the LNP data's SPIDs refer to: porting.carriers_file, else carriers.csv
/// beside porting.lnp_file when there is one, else the built-in simulated carriers.
[[nodiscard]] Result<numbering::CarrierRegistry> LoadCarriers(const config::Config& cfg);

struct ServicesOptions {
  int pool_size = 2;
  /// Load the LNP data (the portability check needs it); without, the checker has an empty
  /// index it never consults (commands that create no request start faster).
  bool with_lnp = true;
  /// Log what is loaded (serve) or stay quiet (the CLI keeps stdout for its output).
  bool log_loading = false;
  /// An LNP index already built (tests share one), used instead of loading porting.lnp_file.
  std::shared_ptr<const numbering::LnpIndex> lnp_index;
};

class Services {
 public:
  /// Opens storage (migrated), loads the server key and data, and wires every service.
  [[nodiscard]] static Result<std::unique_ptr<Services>> Build(const config::Config& cfg,
                                                               const Clock& clock,
                                                               ServicesOptions options);
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;
  ~Services();

  /// The HTTP API over these services (serve, and the tests through the same wiring).
  [[nodiscard]] std::unique_ptr<api::Api> MakeApi(api::Metrics& metrics,
                                                  api::ApiOptions options) const;

  /// Called after porting events are recorded for webhooks (serve wakes its dispatcher).
  void SetEventNotifier(std::function<void()> notify) { notify_ = std::move(notify); }

  const config::Config cfg;
  const Clock& clock;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::Accounts> accounts;
  std::unique_ptr<SecretBox> box;
  std::unique_ptr<trunks::SipService> sip;
  std::unique_ptr<numbering::CarrierRegistry> carriers;
  std::unique_ptr<numbering::LnpService> lnp;
  std::unique_ptr<numbering::PortabilityChecker> checker;
  std::unique_ptr<carriers::SimulatedNetwork> simulator;
  /// What porting is wired with (tests build a second service, a second node, with them).
  porting::PortingService::Hooks porting_hooks;
  std::unique_ptr<porting::PortingService> porting;
  std::unique_ptr<documents::BlobStore> blobs;
  std::unique_ptr<documents::DocumentService> documents;
  std::unique_ptr<mail::Sender> mail_sender;
  std::unique_ptr<mail::MailService> mail;
  std::unique_ptr<webhooks::WebhookService> hooks;

 private:
  Services(const config::Config& c, const Clock& k) : cfg(c), clock(k) {}
  std::function<void()> notify_;
};

}  // namespace portline::app
