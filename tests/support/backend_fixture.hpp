#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "app/services.hpp"
#include "carriers/simulator.hpp"
#include "config/config.hpp"
#include "core/crypto.hpp"
#include "core/secret_box.hpp"
#include "documents/service.hpp"
#include "mail/mail.hpp"
#include "numbering/check.hpp"
#include "porting/service.hpp"
#include "store/database.hpp"
#include "support/fake_clock.hpp"
#include "support/pg.hpp"
#include "support/temp_dir.hpp"
#include "trunks/service.hpp"
#include "webhooks/service.hpp"

namespace portline::testing {

/// A value-parameterized fixture ("sqlite" / "postgres") with migrated storage and every
/// service, built by the composition root serve and the CLI use (app::Services) on a fake
/// clock; the API through Services::MakeApi. PostgreSQL runs get a fresh database.
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    InitCrypto();
    config::Config cfg;
    if (GetParam() == "postgres") {
      PORTLINE_REQUIRE_PG_OR_SKIP();
      cfg.database_url = FreshPgDatabase();
      ASSERT_FALSE(cfg.database_url.empty());
    }
    cfg.data_dir = dir_.path();
    cfg.default_org = "";  // tests make their own organizations
    cfg.secret_key = std::string(64, '0');
    for (std::size_t i = 0; i < cfg.secret_key.size(); i += 2) {
      cfg.secret_key.replace(i, 2, "6b");  // the key of box_ ('k' × 32)
    }
    cfg.public_url = "http://portline.test";
    cfg.gateway = "simulator";  // live organizations port on the simulator here
    cfg.outbound_allow = "127.0.0.0/8";
    cfg.mail_from = "Portline <noreply@portline.test>";
    auto built = app::Services::Build(
        cfg, clock_, app::ServicesOptions{.pool_size = PoolSize(), .lnp_index = Lnp()});
    ASSERT_TRUE(built) << built.error().message << " " << built.error().detail;
    services_ = std::move(*built);
    db_ = services_->db.get();
    accounts_ = services_->accounts.get();
    sip_ = services_->sip.get();
    checker_ = services_->checker.get();
    simulator_ = services_->simulator.get();
    porting_ = services_->porting.get();
    documents_ = services_->documents.get();
    mail_ = services_->mail.get();
    hooks_ = services_->hooks.get();
  }

  /// Connections in the pool. One connection makes any code that holds a connection while
  /// taking another (a deadlock under load) fail at once.
  virtual int PoolSize() const { return 3; }

  /// The generated default LNP data, built once per test binary.
  static std::shared_ptr<const numbering::LnpIndex> Lnp() {
    static const auto index = std::make_shared<const numbering::LnpIndex>(
        numbering::LnpIndex::GenerateDefault(numbering::CarrierRegistry::Default()));
    return index;
  }

  /// The API over this storage (rate limiting off unless the options say otherwise).
  std::unique_ptr<api::Api> MakeApi(api::ApiOptions opts = NoRateLimit()) {
    return services_->MakeApi(metrics_, opts);
  }
  static api::ApiOptions NoRateLimit() {
    api::ApiOptions o;
    o.rate_limit_per_second = 0;
    return o;
  }

  /// An organization (with the given entitlements) and a key for it.
  std::string NewOrgKey(const std::string& name, std::vector<std::string> entitlements = {"SIP"},
                        bool sandbox = false) {
    auto org = accounts_->CreateOrg(name, entitlements, sandbox);
    EXPECT_TRUE(org) << org.error().message;
    auto key = accounts_->CreateKey(org->id, "");
    EXPECT_TRUE(key);
    return key->secret;
  }

  /// Runs a request through the whole API pipeline (auth, routing, idempotency, handlers).
  api::Response Call(api::Api& a, const std::string& method, const std::string& target,
                     const std::string& key, const std::string& body = {},
                     std::vector<api::Header> extra = {}) {
    api::Request req;
    req.method = method;
    req.target = target;
    req.request_id = "req_test";
    EXPECT_TRUE(api::ParseTarget(target, req));
    if (!key.empty()) {
      req.headers.push_back({"Authorization", "Bearer " + key});
    }
    bool has_type = false;
    for (const auto& h : extra) {
      has_type = has_type || h.name == "Content-Type";
    }
    if (!body.empty() && !has_type) {
      req.headers.push_back({"Content-Type", "application/json"});
    }
    for (auto& h : extra) {
      req.headers.push_back(std::move(h));
    }
    req.body = body;
    return a.Handle(req);
  }

  static boost::json::value Json(const std::string& s) { return boost::json::parse(s); }

  TempDir dir_;
  FakeClock clock_;
  SecretBox box_{std::string(32, 'k')};  // the services' key, for tests that open sealed data
  std::unique_ptr<app::Services> services_;
  // The services, by their old names (owned by services_).
  store::Database* db_ = nullptr;
  accounts::Accounts* accounts_ = nullptr;
  trunks::SipService* sip_ = nullptr;
  numbering::PortabilityChecker* checker_ = nullptr;
  carriers::SimulatedNetwork* simulator_ = nullptr;
  porting::PortingService* porting_ = nullptr;
  documents::DocumentService* documents_ = nullptr;
  mail::MailService* mail_ = nullptr;
  webhooks::WebhookService* hooks_ = nullptr;
  api::Metrics metrics_;
};

/// BackendTest plus the API and one organization ("acme", with SIP) and its key.
class ApiTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) {
      return;
    }
    api_ = MakeApi();
    key_ = NewOrgKey("acme");
  }
  std::unique_ptr<api::Api> api_;
  std::string key_;
};

}  // namespace portline::testing
