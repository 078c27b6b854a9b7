// /v1/sip/port/check through the API pipeline, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "support/backend_fixture.hpp"

namespace portline {
namespace {

class PortCheck : public testing::ApiTest {};

TEST_P(PortCheck, GetAsTheSeedShows) {
  auto r = Call(*api_, "GET", "/v1/sip/port/check?phone_numbers[]=%2B14155550100", key_);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = Json(r.body);
  const auto& result = body.at("data").at("results").at(0);
  for (const char* k :
       {"phone_number", "portable", "number_type", "pin_required", "carrier", "location",
        "account_number_required", "fast_port_eligible", "earliest_port_date", "reason"}) {
    EXPECT_TRUE(result.as_object().contains(k)) << k;
  }
  EXPECT_EQ(result.at("phone_number").as_string(), "+14155550100");
  EXPECT_TRUE(result.at("portable").as_bool());
  // Where the carrier data came from: this fixture runs on the generated default.
  EXPECT_EQ(body.at("data").at("data_source").as_string(), "generated");
  // Several numbers, repeated parameter, with and without brackets.
  auto many = Call(*api_, "GET",
                   "/v1/sip/port/check?phone_numbers[]=%2B14155550100&phone_numbers[]=18005550100"
                   "&phone_numbers=%2B442079460000",
                   key_);
  ASSERT_EQ(many.status, 200);
  EXPECT_EQ(Json(many.body).at("data").at("results").as_array().size(), 3U);
  EXPECT_EQ(Call(*api_, "GET", "/v1/sip/port/check", key_).status, 400);
}

TEST_P(PortCheck, PostMixedBatchNeverFailsWhole) {
  auto r = Call(*api_, "POST", "/v1/sip/port/check", key_,
                R"({"phone_numbers": ["+14155550100", "nope", "+18765550100", "+18005550100",
                                      "+14115550100", "+16045550100"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto body = Json(r.body);
  const auto& results = body.at("data").at("results").as_array();
  ASSERT_EQ(results.size(), 6U);
  std::vector<std::string> codes;
  for (const auto& x : results) {
    codes.push_back(x.at("reason").is_null() ? ""
                                             : std::string(x.at("reason").at("code").as_string()));
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"", "invalid_number", "unsupported_country",
                                             "toll_free_manual", "invalid_number", ""}));
  EXPECT_EQ(body.at("data").at("summary").at("portable").to_number<int>(), 2);
}

TEST_P(PortCheck, LimitsAndValidation) {
  std::string big = R"({"phone_numbers": [)";
  for (int i = 0; i < 20001; ++i) {
    big += (i ? ",\"" : "\"") + std::string("+1415555") + std::to_string(1000 + i % 9000) + "\"";
  }
  big += "]}";
  auto over = Call(*api_, "POST", "/v1/sip/port/check", key_, big);
  ASSERT_EQ(over.status, 400);
  EXPECT_NE(Json(over.body).at("errors").at(0).at("message").as_string().find("at most 20000"),
            std::string::npos);
  auto wrong = Call(*api_, "POST", "/v1/sip/port/check", key_,
                    R"({"phone_numbers": ["+14155550100", 7, null], "x": 1})");
  ASSERT_EQ(wrong.status, 400);
  EXPECT_EQ(Json(wrong.body).at("errors").as_array().size(), 3U);
  EXPECT_EQ(Call(*api_, "POST", "/v1/sip/port/check", key_, R"({"phone_numbers": []})").status,
            400);
}

TEST_P(PortCheck, AlreadyOnPlatformWhoeverHoldsItNamingNobody) {
  auto org = accounts_->FindOrg("acme");
  ASSERT_TRUE(org);
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  ASSERT_TRUE((*lease)->Execute(
      "INSERT INTO number_holdings (realm, phone_number, org_id, status, source, created_at, "
      "updated_at) VALUES ('', $1, $2, 'active', 'port_in', 0, 0)",
      {"+14155550100", org->id}));
  const std::string body = R"({"phone_numbers": ["+14155550100"]})";
  auto mine = Json(Call(*api_, "POST", "/v1/sip/port/check", key_, body).body);
  EXPECT_EQ(mine.at("data").at("results").at(0).at("reason").at("code").as_string(),
            "already_on_platform");
  const std::string other = NewOrgKey("globex");
  auto theirs = Json(Call(*api_, "POST", "/v1/sip/port/check", other, body).body);
  // Another organization cannot port it either, and learns only that it is taken.
  const auto& result = theirs.at("data").at("results").at(0);
  EXPECT_FALSE(result.at("portable").as_bool());
  EXPECT_EQ(result.at("reason").at("code").as_string(), "already_on_platform");
  const std::string message(result.at("reason").at("message").as_string());
  EXPECT_EQ(message.find("acme"), std::string::npos) << message;
  EXPECT_EQ(message.find(org->id), std::string::npos) << message;
  // A sandbox organization's numbers are a world of their own.
  const std::string sandbox = NewOrgKey("sandbox-co", {"SIP"}, /*sandbox=*/true);
  auto sandboxed = Json(Call(*api_, "POST", "/v1/sip/port/check", sandbox, body).body);
  EXPECT_TRUE(sandboxed.at("data").at("results").at(0).at("portable").as_bool());
}

INSTANTIATE_TEST_SUITE_P(Backends, PortCheck, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace portline
