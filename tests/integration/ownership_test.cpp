// A number belongs to at most one organization of a realm (live organizations share one; each
// sandbox is its own): port requests, attach, the check and completion, on SQLite and
// PostgreSQL, including two organizations racing for one number.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <thread>

#include "support/backend_fixture.hpp"

namespace portline {
namespace {

namespace json = boost::json;

constexpr const char* kAcme1 = "+14155550100";
constexpr const char* kAcme2 = "+14155550101";
constexpr const char* kAcme3 = "+14155550102";

std::string Body(const std::vector<std::string>& numbers) {
  std::string list;
  for (const auto& n : numbers) {
    list += (list.empty() ? "\"" : ", \"") + n + "\"";
  }
  return R"({"phone_numbers": [)" + list + R"(], "pin": "1234",
    "losing_carrier_information": {"customer_type": "business", "business_name": "Acme Corp",
    "first_name": "Jane", "last_name": "Doe", "account_number": "ACC-12345",
    "authorized_representative_email": "jane@acme.example",
    "address": {"street": "123 Main Street", "city": "San Francisco", "state": "CA",
                "zip": "94105"}}})";
}

std::string Attach(const std::string& number) {
  return R"({"phone_number": ")" + number +
         R"(", "service": "sip", "directions": [{"type": "inbound"}]})";
}

class Ownership : public testing::ApiTest {
 protected:
  json::value Check(const std::string& key, const std::string& number) {
    auto r = Call(*api_, "GET", "/v1/sip/port/check?phone_numbers[]=%2B" + number.substr(1), key);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).at("data").at("results").at(0);
  }
  static std::string ReasonCode(const json::value& result) {
    const auto& reason = result.at("reason");
    return reason.is_null() ? "" : std::string(reason.at("code").as_string());
  }
  api::Response Initiate(const std::string& key, const std::vector<std::string>& numbers) {
    return Call(*api_, "POST", "/v1/sip/port/initiate", key, Body(numbers));
  }
  // The numbers an attach answer lists as failed, with their reasons.
  json::array AttachFailed(const std::string& key, const std::string& number) {
    auto r = Call(*api_, "POST", "/v1/sip/attach", key, Attach(number));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).at("data").at("failed").as_array();
  }
  std::string Sign(const json::value& created) {
    const std::string url(created.at("signature_url").as_string());
    api::Request req;
    req.method = "POST";
    req.target = url.substr(url.find("/sign/"));
    req.request_id = "req_test";
    EXPECT_TRUE(api::ParseTarget(req.target, req));
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.remote_addr = "198.51.100.7";
    req.body = "name=Jane+Doe&title=CTO&consent=yes";
    auto r = api_->Handle(req);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(created.at("port_request_id").as_string());
  }
  std::string Status(const std::string& key, const std::string& id) {
    auto r = Call(*api_, "GET", "/v1/sip/port/" + id, key);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(Json(r.body).at("data").at("status").as_string());
  }
  // Ports `numbers` in sandbox `key` to completion.
  void PortToCompletion(const std::string& key, const std::vector<std::string>& numbers) {
    auto r = Initiate(key, numbers);
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = Sign(Json(r.body).at("data"));
    ASSERT_EQ(Call(*api_, "POST", "/v1/sandbox/clock/advance", key, R"({"days": 30})").status, 200);
    ASSERT_EQ(Status(key, id), "completed");
  }
};

TEST_P(Ownership, ANumberHeldByOneOrganizationIsNobodyElses) {
  const std::string other = NewOrgKey("other-co");
  // acme attaches a number: it holds it now.
  EXPECT_TRUE(AttachFailed(key_, kAcme1).empty());

  // Another live organization: the check says so without naming anyone.
  const auto result = Check(other, kAcme1);
  EXPECT_FALSE(result.at("portable").as_bool());
  EXPECT_EQ(ReasonCode(result), "already_on_platform");
  const std::string message(result.at("reason").at("message").as_string());
  EXPECT_EQ(message.find("acme"), std::string::npos) << message;
  EXPECT_EQ(message.find("your account"), std::string::npos) << message;
  // Its initiate leaves the number out with that reason, or refuses when nothing is left.
  auto r = Initiate(other, {kAcme1, kAcme2});
  ASSERT_EQ(r.status, 201) << r.body;
  const auto created = Json(r.body).at("data");
  ASSERT_EQ(created.at("excluded").as_array().size(), 1U) << created;
  EXPECT_EQ(created.at("excluded").at(0).at("phone_number").as_string(), kAcme1);
  EXPECT_EQ(created.at("excluded").at(0).at("reason").at("code").as_string(),
            "already_on_platform");
  r = Initiate(other, {kAcme1});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("NO_PORTABLE_NUMBERS"), std::string::npos) << r.body;
  // Nor can it attach the number acme holds, or the one its own request now holds for it.
  auto failed = AttachFailed(other, kAcme1);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed.at(0).at("reason").as_string(), "number_unavailable");
  EXPECT_EQ(json::serialize(failed).find("acme"), std::string::npos);
  failed = AttachFailed(key_, kAcme2);
  ASSERT_EQ(failed.size(), 1U) << "other-co's port request holds " << kAcme2;

  // acme's own number stays portable for acme (an attached number may be ported in).
  EXPECT_TRUE(Check(key_, kAcme1).at("portable").as_bool());

  // Once acme detaches it, the number is free again.
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/detach", key_,
                 R"({"phone_number": "+14155550100", "service": "sip"})")
                .status,
            200);
  EXPECT_TRUE(Check(other, kAcme1).at("portable").as_bool());
  EXPECT_TRUE(AttachFailed(other, kAcme1).empty());
  // And a canceled request lets its numbers go.
  const std::string id(created.at("port_request_id").as_string());
  ASSERT_EQ(Call(*api_, "DELETE", "/v1/sip/port/" + id, other).status, 200);
  EXPECT_TRUE(AttachFailed(key_, kAcme2).empty());
}

TEST_P(Ownership, AReplacedRequestHoldsItsNewNumbersAndFreesTheOld) {
  const std::string other = NewOrgKey("other-co");
  auto r = Initiate(other, {kAcme1});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id(Json(r.body).at("data").at("port_request_id").as_string());
  auto put = Call(*api_, "PUT", "/v1/sip/port/" + id, other, Body({kAcme2}));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(AttachFailed(key_, kAcme1).empty()) << "the number the request dropped is free";
  EXPECT_EQ(AttachFailed(key_, kAcme2).size(), 1U) << "the number it took is held";
}

TEST_P(Ownership, SandboxHoldingsStayApartAndCompletionNeverMovesANumber) {
  const std::string sandbox1 = NewOrgKey("sandbox-one", {"SIP"}, /*sandbox=*/true);
  const std::string sandbox2 = NewOrgKey("sandbox-two", {"SIP"}, /*sandbox=*/true);
  // A live organization holds a number; sandboxes still port it in their own world.
  EXPECT_TRUE(AttachFailed(key_, kAcme1).empty());
  // sandbox-one attached kAcme3 before porting it: its own hold, upgraded by the port.
  EXPECT_TRUE(AttachFailed(sandbox1, kAcme3).empty());
  PortToCompletion(sandbox1, {kAcme1, kAcme2, kAcme3});
  PortToCompletion(sandbox2, {kAcme1, kAcme2, kAcme3});

  // Each keeps what it ported; neither sandbox touched the live holder.
  for (const std::string& key : {sandbox1, sandbox2}) {
    const auto r = Check(key, kAcme2);
    EXPECT_EQ(ReasonCode(r), "already_on_platform");
    EXPECT_NE(std::string(r.at("reason").at("message").as_string()).find("your account"),
              std::string::npos);
  }
  EXPECT_TRUE(Check(key_, kAcme2).at("portable").as_bool());
  EXPECT_FALSE(AttachFailed(NewOrgKey("third-live"), kAcme1).empty());
  // Detaching a ported number keeps it: only attach holds end with their configuration.
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/detach", sandbox1,
                 R"({"phone_number": "+14155550102", "service": "sip"})")
                .status,
            200);
  EXPECT_EQ(ReasonCode(Check(sandbox1, kAcme3)), "already_on_platform");
}

TEST_P(Ownership, TwoOrganizationsRacingForOneNumberCannotBothWin) {
  const std::string a = NewOrgKey("racer-a");
  const std::string b = NewOrgKey("racer-b");
  for (int round = 0; round < 12; ++round) {
    const std::string number = "+1415555" + std::to_string(1000 + round);
    ASSERT_TRUE(Check(a, number).at("portable").as_bool()) << number;
    std::atomic<int> ready{0};
    api::Response ra, rb;
    auto race = [&](const std::string& key, api::Response& out) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
        std::this_thread::yield();
      }
      // Even rounds race two port requests; odd ones a port request against an attach.
      out = (round % 2 == 0 || &out == &ra)
                ? Call(*api_, "POST", "/v1/sip/port/initiate", key, Body({number}))
                : Call(*api_, "POST", "/v1/sip/attach", key, Attach(number));
    };
    std::thread ta(race, std::cref(a), std::ref(ra));
    std::thread tb(race, std::cref(b), std::ref(rb));
    ta.join();
    tb.join();
    const bool a_won = ra.status == 201;
    const bool b_won =
        round % 2 == 0
            ? rb.status == 201
            : rb.status == 200 && Json(rb.body).at("data").at("failed").as_array().empty();
    EXPECT_NE(a_won, b_won) << "round " << round << ": " << ra.status << " " << ra.body << " / "
                            << rb.status << " " << rb.body;
    // The loser is told so per number, never with a server error.
    EXPECT_TRUE(ra.status == 201 || ra.status == 422) << ra.body;
    EXPECT_TRUE(rb.status == 201 || rb.status == 422 || rb.status == 200) << rb.body;
    // The loser now sees the number as taken.
    EXPECT_EQ(ReasonCode(Check(a_won ? b : a, number)), "already_on_platform");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Ownership, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace portline
