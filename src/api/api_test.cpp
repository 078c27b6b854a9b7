#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "api/json.hpp"
#include "api/rate_limit.hpp"
#include "api/router.hpp"

namespace portline::api {
namespace {

TEST(RouterTest, MatchesParamsAndReportsAllowedMethods) {
  Router r;
  auto ok = [](Request&) -> Result<Response> { return Response{}; };
  r.Add("GET", "/v1/api-keys", ok);
  r.Add("GET", "/v1/api-keys/{key_id}", ok);
  r.Add("DELETE", "/v1/api-keys/{key_id}", ok);
  std::vector<std::pair<std::string, std::string>> params;
  auto m = r.Find("DELETE", "/v1/api-keys/key_1", params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/v1/api-keys/{key_id}");
  ASSERT_EQ(params.size(), 1U);
  EXPECT_EQ(params[0].second, "key_1");

  auto wrong_method = r.Find("PUT", "/v1/api-keys/key_1", params);
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_EQ(wrong_method.allowed, (std::vector<std::string>{"GET", "DELETE"}));

  EXPECT_EQ(r.Find("GET", "/v1/api-keys/", params).route, nullptr);
  EXPECT_EQ(r.Find("GET", "/v1/api-keys/a/b", params).route, nullptr);
  EXPECT_TRUE(r.Find("GET", "/nope", params).allowed.empty());
}

TEST(JsonTest, ErrorsNameTheOffset) {
  auto bad = ParseJson(R"({"a": tru})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().api_code, "INVALID_JSON");
  EXPECT_NE(bad.error().message.find("at byte"), std::string::npos);
  EXPECT_FALSE(ParseJson(R"({"a":1} x)"));
  EXPECT_FALSE(ParseJson("{\"a\":\"\xFF\"}"));  // invalid UTF-8 inside a string
  EXPECT_FALSE(ParseJson(std::string(100, '[') + std::string(100, ']')));  // too deep
  EXPECT_TRUE(ParseJson(" {\"a\": [1, 2.5, null]} \n"));
  // NUL is refused everywhere (PostgreSQL text cannot hold it), in values and in keys.
  for (const char* nul : {R"({"a": "x\u0000y"})", R"({"a\u0000": 1})", R"([["\u0000"]])"}) {
    auto r = ParseJson(nul);
    ASSERT_FALSE(r) << nul;
    EXPECT_NE(r.error().message.find("NUL"), std::string::npos);
  }
}

TEST(JsonTest, EnvelopeShapes) {
  auto data = DataResponse(201, boost::json::object{{"x", 1}});
  EXPECT_EQ(data.status, 201);
  EXPECT_EQ(data.body, R"({"data":{"x":1},"errors":null})");

  Error e;
  e.code = Errc::kInvalidArgument;
  e.message = "two problems";
  e.fields = {{"REQUIRED", "name is required", "name"},
              {"TOO_LONG", "zip too long", "address.zip"}};
  auto err = ErrorResponse(e, "req_1");
  EXPECT_EQ(err.status, 400);
  auto v = boost::json::parse(err.body);
  EXPECT_TRUE(v.at("data").is_null());
  EXPECT_EQ(v.at("errors").as_array().size(), 2U);
  EXPECT_EQ(v.at("errors").at(1).at("field").as_string(), "address.zip");
  EXPECT_EQ(v.at("request_id").as_string(), "req_1");

  auto plain = ErrorResponse(Error{Errc::kNotFound, "gone", "SELECT secret", {}, {}}, "r");
  EXPECT_EQ(plain.status, 404);
  EXPECT_EQ(plain.body.find("SELECT"), std::string::npos);  // detail never leaks
}

TEST(JsonTest, StatusTableCoversEveryCategory) {
  EXPECT_EQ(HttpStatus(Errc::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(Errc::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(Errc::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(Errc::kNotFound), 404);
  EXPECT_EQ(HttpStatus(Errc::kMethodNotAllowed), 405);
  EXPECT_EQ(HttpStatus(Errc::kConflict), 409);
  EXPECT_EQ(HttpStatus(Errc::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatus(Errc::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatus(Errc::kUnprocessable), 422);
  EXPECT_EQ(HttpStatus(Errc::kRateLimited), 429);
  EXPECT_EQ(HttpStatus(Errc::kInternal), 500);
  EXPECT_EQ(HttpStatus(Errc::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(Errc::kDeadlineExceeded), 504);
}

TEST(TargetTest, LoggablePathsHideSigningTokens) {
  EXPECT_EQ(LoggablePath("/sign/abc123"), "/sign/[token]");
  EXPECT_EQ(LoggablePath("/sign/abc123/loa"), "/sign/[token]/loa");
  EXPECT_EQ(LoggablePath("/v1/sip/port/port_1"), "/v1/sip/port/port_1");
}

TEST(TargetTest, DecodesPathAndQuery) {
  Request r;
  ASSERT_TRUE(ParseTarget("/v1/sip/port/check?phone_numbers[]=%2B14155550100&limit=5", r));
  EXPECT_EQ(r.path, "/v1/sip/port/check");
  EXPECT_EQ(r.Query("phone_numbers[]"), "+14155550100");
  EXPECT_EQ(r.Query("limit"), "5");
  EXPECT_FALSE(r.Query("absent"));
  Request bad;
  EXPECT_FALSE(ParseTarget("/a%ZZ", bad));
  auto nul = ParseTarget("/v1/sip/port?customer_reference=a%00b", bad);
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().api_code, "INVALID_QUERY");
  EXPECT_FALSE(ParseTarget("/v1/sip/port?a%00=1", bad));
  EXPECT_FALSE(ParseTarget("http://absolute/form", bad));
  EXPECT_FALSE(ParseTarget("/a?x=%FF", bad));  // not UTF-8 once decoded
}

TEST(RateLimiterTest, BurstThenRefill) {
  RateLimiter rl(10, 2);
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
  EXPECT_FALSE(rl.Take("o", t0));
  EXPECT_FALSE(rl.Take("o", t0));
  auto wait = rl.Take("o", t0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->count(), 100);
  EXPECT_FALSE(rl.Take("other", t0));  // per organization
  EXPECT_FALSE(rl.Take("o", t0 + std::chrono::milliseconds(100)));
  RateLimiter off(0, 1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(off.Take("o", t0));
  }
}

}  // namespace
}  // namespace portline::api
