// The OpenAPI document and the router must describe the same API: a route missing from the
// document, or a documented route that does not exist, fails this test.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>

#include "api/api.hpp"
#include "app/services.hpp"
#include "core/crypto.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

TEST(OpenApiTest, DocumentAndRouterAgree) {
  InitCrypto();
  testing::TempDir dir;
  config::Config cfg;
  cfg.data_dir = dir.path();
  testing::FakeClock clock;
  // The API as serve builds it (app::Services), without LNP data: only the routes matter.
  auto services = app::Services::Build(cfg, clock, app::ServicesOptions{.with_lnp = false});
  ASSERT_TRUE(services) << services.error().message;
  api::Metrics metrics;
  const auto api_ptr = (*services)->MakeApi(metrics, {});
  const api::Api& api = *api_ptr;

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
