// The OpenAPI document and the router must describe the same API: a route missing from the
// document, or a documented route that does not exist, fails this test.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "core/crypto.hpp"
#include "documents/service.hpp"
#include "mail/mail.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"
#include "webhooks/service.hpp"

namespace portline {
namespace {

TEST(OpenApiTest, DocumentAndRouterAgree) {
  InitCrypto();
  testing::TempDir dir;
  store::StoreOptions opts;
  opts.data_dir = dir.path();
  auto db = store::OpenDatabase(opts);
  ASSERT_TRUE(db);
  testing::FakeClock clock;
  accounts::Accounts accounts(**db, clock);
  api::Metrics metrics;
  SecretBox box(std::string(32, 'k'));
  trunks::SipService sip(**db, clock, box, trunks::Network::Default());
  numbering::LnpService lnp(
      std::make_shared<const numbering::LnpIndex>(numbering::LnpIndex::Builder().Build()));
  numbering::PortabilityChecker checker(lnp, numbering::CarrierRegistry::Default(), clock, {});
  carriers::SimulatedNetwork simulator(**db, numbering::CarrierRegistry::Default(), clock);
  porting::PortingService porting(**db, clock, box, checker, numbering::CarrierRegistry::Default(),
                                  simulator, {});
  api::Api api(accounts, sip, checker, porting, &simulator, **db, clock, metrics, {});
  auto blobs = documents::MakeFileBlobStore(dir.path() + "/documents");
  documents::DocumentService docs(**db, *blobs, clock);
  api.AddDocuments(docs);
  auto sender = mail::MakeOutboxSender(dir.path() + "/outbox");
  mail::MailService mail_service(**db, *sender, clock, box, "Portline <noreply@portline.test>");
  api.AddEmails(mail_service);
  webhooks::WebhookService hooks(**db, box, clock, net::OutboundGuard{});
  api.AddWebhooks(hooks);

  std::set<std::string> routed;
  for (const auto& r : api.router().routes()) {
    routed.insert(r.method + " " + r.pattern);
  }
  std::set<std::string> documented;
  std::set<std::string> operation_ids;
  const auto doc = boost::json::parse(api::OpenApiDocument());
  ASSERT_EQ(doc.at("openapi").as_string(), "3.1.0");
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters") {
        continue;
      }
      std::string upper(method);
      for (auto& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      documented.insert(upper + " " + std::string(path));
      EXPECT_TRUE(op.as_object().contains("responses")) << path;
      // Every operation has a unique operationId, so clients can be generated.
      const auto* id = op.as_object().if_contains("operationId");
      ASSERT_TRUE(id != nullptr && id->is_string()) << upper << " " << path;
      EXPECT_TRUE(operation_ids.insert(std::string(id->as_string())).second)
          << "operationId used twice: " << id->as_string();
    }
  }
  for (const auto& r : routed) {
    EXPECT_TRUE(documented.count(r)) << "route not documented in openapi.json: " << r;
  }
  for (const auto& d : documented) {
    EXPECT_TRUE(routed.count(d)) << "documented route does not exist: " << d;
  }
}

}  // namespace
}  // namespace portline
