#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "carriers/simulator.hpp"
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

/// A value-parameterized fixture ("sqlite" / "postgres") with migrated storage, accounts, the SIP
/// service and the API pipeline over it, on a fake clock. PostgreSQL runs get a fresh database.
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    InitCrypto();
    store::StoreOptions opts;
    opts.pool_size = PoolSize();
    if (GetParam() == "postgres") {
      PORTLINE_REQUIRE_PG_OR_SKIP();
      opts.database_url = FreshPgDatabase();
      ASSERT_FALSE(opts.database_url.empty());
    } else {
      opts.data_dir = dir_.path();
    }
    auto db = store::OpenDatabase(opts);
    ASSERT_TRUE(db) << db.error().detail;
    db_ = std::move(*db);
    auto applied = store::Migrate(*db_);
    ASSERT_TRUE(applied) << applied.error().message << " " << applied.error().detail;
    accounts_ = std::make_unique<accounts::Accounts>(*db_, clock_);
    sip_ = std::make_unique<trunks::SipService>(*db_, clock_, box_, trunks::Network::Default());
    checker_ = std::make_unique<numbering::PortabilityChecker>(
        Lnp(), numbering::CarrierRegistry::Default(), clock_, numbering::CheckOptions{});
    simulator_ = std::make_unique<carriers::SimulatedNetwork>(
        *db_, numbering::CarrierRegistry::Default(), clock_);
    ASSERT_TRUE(simulator_->Seed());
    porting::PortingOptions popts;
    popts.public_url = "http://portline.test";
    popts.live_gateway = true;  // live organizations port on the simulator here
    porting_ = std::make_unique<porting::PortingService>(
        *db_, clock_, box_, *checker_, numbering::CarrierRegistry::Default(), *simulator_, popts);
    porting_->SetPostPortHook([this](std::string_view org, const std::vector<std::string>& numbers,
                                     const boost::json::object& config) {
      return sip_->AttachPorted(org, numbers, config);
    });
    porting_->SetPostPortValidator([this](std::string_view org, const boost::json::object& c) {
      return sip_->ValidateAttach(org, c);
    });
    blobs_ = documents::MakeFileBlobStore(dir_.path() + "/documents");
    documents_ = std::make_unique<documents::DocumentService>(*db_, *blobs_, clock_);
    mail_sender_ = mail::MakeOutboxSender(dir_.path() + "/outbox");
    mail_ = std::make_unique<mail::MailService>(*db_, *mail_sender_, clock_, box_,
                                                "Portline <noreply@portline.test>");
    hooks_ = std::make_unique<webhooks::WebhookService>(
        *db_, box_, clock_, *net::OutboundGuard::FromList({"127.0.0.0/8"}));
    porting_->SetEventSink(
        [this](store::Connection& c, const std::vector<porting::EventRecord>& events) {
          std::vector<webhooks::WebhookService::NewEvent> records;
          for (const auto& e : events) {
            records.push_back({e.org_id, e.id, e.type, e.request_id, e.sequence, &e.data, e.at});
          }
          return webhooks::WebhookService::RecordAll(c, records, ToUnixMillis(clock_.Now()));
        });
    porting_->SetDocumentValidator(
        [this](std::string_view org, const std::vector<std::string>& ids) {
          return documents_->RequireAll(org, ids);
        });
  }

  /// Connections in the pool. One connection makes any code that holds a connection while
  /// taking another (a deadlock under load) fail at once.
  virtual int PoolSize() const { return 3; }

  /// The generated default LNP data, built once per test binary.
  static const numbering::LnpService& Lnp() {
    static const numbering::LnpService lnp(std::make_shared<const numbering::LnpIndex>(
        numbering::LnpIndex::GenerateDefault(numbering::CarrierRegistry::Default())));
    return lnp;
  }

  /// The API over this storage (rate limiting off unless the options say otherwise).
  std::unique_ptr<api::Api> MakeApi(api::ApiOptions opts = NoRateLimit()) {
    auto api = std::make_unique<api::Api>(*accounts_, *sip_, *checker_, *porting_, simulator_.get(),
                                          *db_, clock_, metrics_, opts);
    api->AddDocuments(*documents_);
    api->AddEmails(*mail_);
    api->AddWebhooks(*hooks_);
    return api;
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
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<accounts::Accounts> accounts_;
  SecretBox box_{std::string(32, 'k')};
  std::unique_ptr<trunks::SipService> sip_;
  std::unique_ptr<numbering::PortabilityChecker> checker_;
  std::unique_ptr<carriers::SimulatedNetwork> simulator_;
  std::unique_ptr<porting::PortingService> porting_;
  std::unique_ptr<documents::BlobStore> blobs_;
  std::unique_ptr<documents::DocumentService> documents_;
  std::unique_ptr<mail::Sender> mail_sender_;
  std::unique_ptr<mail::MailService> mail_;
  std::unique_ptr<webhooks::WebhookService> hooks_;
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
