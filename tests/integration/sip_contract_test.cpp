// The /v1/sip configuration surface through the whole API pipeline, on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "support/backend_fixture.hpp"

namespace portline {
namespace {

class Sip : public testing::ApiTest {
 protected:
  api::Response Post(const std::string& path, const std::string& body,
                     const std::string& key = {}) {
    return Call(*api_, "POST", path, key.empty() ? key_ : key, body);
  }
  api::Response Get(const std::string& target, const std::string& key = {}) {
    return Call(*api_, "GET", target, key.empty() ? key_ : key);
  }
  // (field, code) of every error in a response.
  static std::vector<std::pair<std::string, std::string>> Errors(const api::Response& r) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto body = Json(r.body);
    for (const auto& e : body.at("errors").as_array()) {
      const auto* f = e.as_object().if_contains("field");
      out.emplace_back(f ? std::string(f->as_string()) : "",
                       std::string(e.at("error").as_string()));
    }
    return out;
  }
  static bool HasError(const api::Response& r, const std::string& field, const std::string& code) {
    for (const auto& [f, c] : Errors(r)) {
      if (f == field && c == code) {
        return true;
      }
    }
    return false;
  }
};

const char* kAttachOutbound = R"({
  "phone_numbers": ["+14150000001", "+14150000002"],
  "directions": [{ "type": "outbound", "sip_endpoint": "sip:trunk.provider.com" }],
  "service": "sip"})";

const char* kAttachRegister = R"({"phone_number": "+14150000000", "service": "sip",
  "directions": [{"type": "inbound", "auth_mode": "register",
    "register_auth": {"username": "my-trunk", "password": "securepassword"},
    "options": {"sip_username": "call-user", "sip_password": "call-pass"}}]})";

TEST_P(Sip, AttachGetListAsTheSeedShows) {
  auto r = Post("/v1/sip/attach", kAttachOutbound);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(boost::json::serialize(Json(r.body).at("data")),
            R"({"configured":["+14150000001","+14150000002"],"failed":[]})");

  auto got = Get("/v1/sip?phone_number=%2B14150000001");
  ASSERT_EQ(got.status, 200) << got.body;
  const auto data = Json(got.body).at("data");
  EXPECT_TRUE(data.at("inbound").is_null());
  const auto& out = data.at("outbound");
  EXPECT_EQ(out.at("number").as_string(), "+14150000001");
  EXPECT_EQ(out.at("direction").as_string(), "outbound");
  EXPECT_EQ(out.at("sip_endpoint").as_string(), "sip:trunk.provider.com");
  for (const char* k : {"id", "org_id", "created_at", "updated_at", "headers", "options"}) {
    EXPECT_TRUE(out.as_object().contains(k)) << k;
  }
  // E.164 with or without '+'.
  EXPECT_EQ(Get("/v1/sip?phone_number=14150000001").status, 200);

  auto list = Get("/v1/sip/numbers");
  ASSERT_EQ(list.status, 200);
  const auto numbers = Json(list.body).at("data").at("numbers").as_array();
  ASSERT_EQ(numbers.size(), 2U);
  EXPECT_EQ(numbers[0].at("health_status").as_string(), "unchecked");
  EXPECT_EQ(numbers[0].at("directions").at(0).as_string(), "outbound");
  auto page = Get("/v1/sip/numbers?limit=1");
  const auto cursor = std::string(Json(page.body).at("data").at("next_cursor").as_string());
  EXPECT_EQ(cursor, "+14150000001");
  auto next = Get("/v1/sip/numbers?limit=1&cursor=%2B14150000001");
  EXPECT_EQ(Json(next.body).at("data").at("numbers").at(0).at("phone_number").as_string(),
            "+14150000002");
  EXPECT_EQ(Get("/v1/sip/numbers?cursor=nope").status, 400);
}

TEST_P(Sip, CredentialsAreSealedAtRestAndRedactedEverywhere) {
  auto r = Post("/v1/sip/attach", kAttachRegister);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string pbx(Json(r.body).at("data").at("register_password_for_pbx").as_string());
  EXPECT_EQ(pbx.size(), 24U);
  // Stable and reproducible: the same identity derives the same password.
  auto again = Post("/v1/sip/attach", kAttachRegister);
  EXPECT_EQ(Json(again.body).at("data").at("register_password_for_pbx").as_string(), pbx);

  std::vector<std::string> bodies = {
      r.body, Get("/v1/sip?phone_number=%2B14150000000").body, Get("/v1/sip/numbers").body,
      Get("/v1/sip/outbound-setup?phone_number=%2B14150000000").body};
  auto upd = Post("/v1/sip/update", R"({"phone_number": "+14150000000", "updates": {"type":
      "inbound", "options": {"sip_password": "new-call-pass"}}})");
  ASSERT_EQ(upd.status, 200) << upd.body;
  bodies.push_back(upd.body);
  for (const auto& b : bodies) {
    for (const char* secret : {"securepassword", "call-pass", "new-call-pass"}) {
      EXPECT_EQ(b.find(secret), std::string::npos) << secret << " leaked in " << b;
    }
  }
  const auto view = Json(bodies[1]).at("data").at("inbound").at("options");
  EXPECT_EQ(view.at("sip_password").as_string(), trunks::kRedacted);
  EXPECT_EQ(view.at("register_auth").at("password").as_string(), trunks::kRedacted);
  EXPECT_EQ(view.at("register_auth").at("username").as_string(), "my-trunk");
  EXPECT_EQ(view.at("auth_mode").as_string(), "register");
  auto setup = Json(bodies[3]).at("data").at("credentials");
  EXPECT_EQ(setup.at("username").as_string(), "my-trunk");

  // Storage holds sealed values only; they open with the server key.
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto rows = (*lease)->Query("SELECT settings FROM sip_configs", {});
  ASSERT_TRUE(rows);
  for (const auto& row : *rows) {
    for (const char* secret : {"securepassword", "call-pass", "new-call-pass"}) {
      EXPECT_EQ(row.Text(0).find(secret), std::string::npos) << row.Text(0);
    }
    const auto stored = Json(row.Text(0));
    auto opened = box_.Open(stored.at("options").at("sip_password").as_string());
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, "new-call-pass");
  }
}

TEST_P(Sip, EveryAttachFieldIsValidatedAndAllProblemsReported) {
  auto r = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "phone_numbers": [],
      "service": "tel", "colour": 1, "directions": [
        {"type": "inbound", "auth_mode": "token", "register_auth": {"username": "u"},
         "options": {"port": 70000, "transport": "sctp", "secure_media": "yes",
                     "sip_username": "", "bogus": true},
         "headers": {"Bad-Header": "x", "X-Ok": "1var"}},
        {"type": "outbound", "sip_endpoint": "sip:[::1", "auth_mode": "ip"},
        {"type": "sideways"}]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_TRUE(HasError(r, "colour", "UNKNOWN_FIELD"));
  EXPECT_TRUE(HasError(r, "service", "INVALID_VALUE"));
  EXPECT_TRUE(HasError(r, "phone_numbers", "REQUIRED"));   // both given
  EXPECT_TRUE(HasError(r, "directions", "INVALID_TYPE"));  // three directions
  const auto errors = Errors(r);
  EXPECT_GE(errors.size(), 4U);

  auto d = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "service": "sip",
      "directions": [
        {"type": "inbound", "auth_mode": "token", "register_auth": {"username": "u"},
         "options": {"port": 70000, "transport": "sctp", "secure_media": "yes",
                     "sip_username": "", "bogus": true},
         "headers": {"Bad-Header": "x", "X-Ok": "1var"}},
        {"type": "outbound", "sip_endpoint": "sip:[::1", "auth_mode": "ip"}]})");
  ASSERT_EQ(d.status, 400);
  for (const auto& [field, code] : std::vector<std::pair<std::string, std::string>>{
           {"directions[0].auth_mode", "INVALID_VALUE"},
           {"directions[0].register_auth.password", "REQUIRED"},
           {"directions[0].options.port", "OUT_OF_RANGE"},
           {"directions[0].options.transport", "INVALID_VALUE"},
           {"directions[0].options.secure_media", "INVALID_TYPE"},
           {"directions[0].options.sip_username", "INVALID_VALUE"},
           {"directions[0].options.bogus", "UNKNOWN_FIELD"},
           {"directions[0].headers.Bad-Header", "INVALID_HEADER"},
           {"directions[0].headers.X-Ok", "INVALID_VALUE"},
           {"directions[1].sip_endpoint", "INVALID_DESTINATION"},
           {"directions[1].auth_mode", "UNKNOWN_FIELD"}}) {
    EXPECT_TRUE(HasError(d, field, code)) << field << " " << code << " in " << d.body;
  }

  // Cross-field rules.
  auto no_endpoint = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "service": "sip",
      "directions": [{"type": "outbound"}]})");
  EXPECT_TRUE(HasError(no_endpoint, "directions[0].sip_endpoint", "REQUIRED"));
  auto register_without_auth = Post("/v1/sip/attach", R"({"phone_number": "+14150000000",
      "service": "sip", "directions": [{"type": "inbound", "auth_mode": "register"}]})");
  EXPECT_TRUE(HasError(register_without_auth, "directions[0].register_auth", "REQUIRED"));
  auto auth_with_ip = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "service": "sip",
      "directions": [{"type": "inbound", "register_auth": {"username": "u", "password": "12345678"}}]})");
  EXPECT_TRUE(HasError(auth_with_ip, "directions[0].register_auth", "INVALID_VALUE"));
  auto dup = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "service": "sip",
      "directions": [{"type": "inbound"}, {"type": "inbound"}]})");
  EXPECT_TRUE(HasError(dup, "directions[1].type", "DUPLICATE_DIRECTION"));
  EXPECT_EQ(Post("/v1/sip/attach", "{\"service\": \"sip\"").status, 400);  // malformed JSON

  auto creds = Post("/v1/sip/attach", R"({"phone_number": "+14150000000", "service": "sip",
      "directions": [{"type": "inbound", "auth_mode": "register",
        "register_auth": {"username": "has space", "password": "long enough"},
        "options": {"sip_password": ""}}]})");
  EXPECT_TRUE(HasError(creds, "directions[0].register_auth.username", "INVALID_VALUE"));
  EXPECT_TRUE(HasError(creds, "directions[0].options.sip_password", "INVALID_VALUE"));
  auto trunk = Post("/v1/sip/trunks", R"({"name": "", "auth_mode": "register", "x": 1})");
  EXPECT_TRUE(HasError(trunk, "name", "INVALID_VALUE"));
  EXPECT_TRUE(HasError(trunk, "register_auth", "REQUIRED"));
  EXPECT_TRUE(HasError(trunk, "x", "UNKNOWN_FIELD"));
  auto detach = Post("/v1/sip/detach", R"({"phone_number": "+14150000000",
      "directions": [{"type": "inbound", "sip_endpoint": "x"}]})");
  EXPECT_TRUE(HasError(detach, "service", "REQUIRED"));
  EXPECT_TRUE(HasError(detach, "directions[0].sip_endpoint", "UNKNOWN_FIELD"));
  auto update = Post("/v1/sip/update", R"({"phone_number": "+14150000000"})");
  EXPECT_TRUE(HasError(update, "updates", "REQUIRED"));
  EXPECT_EQ(Get("/v1/sip").status, 400);  // phone_number is required
}

TEST_P(Sip, LimitsPerCallPerNumberAndHeaders) {
  std::string many =
      R"({"service": "sip", "directions": [{"type": "inbound"}], "phone_numbers": [)";
  for (int i = 0; i < 101; ++i) {
    many += (i ? "," : "") + std::string("\"+1415555") + std::to_string(1000 + i) + "\"";
  }
  auto too_many = Post("/v1/sip/attach", many + "]}");
  EXPECT_EQ(too_many.status, 400);
  EXPECT_TRUE(HasError(too_many, "phone_numbers", "TOO_MANY"));

  // Bad numbers fail alone; good ones are configured.
  auto mixed = Post("/v1/sip/attach", R"({"service": "sip", "directions": [{"type": "inbound"}],
      "phone_numbers": ["+14155550100", "not-a-number", "+0123", 42]})");
  EXPECT_EQ(mixed.status, 400);  // 42 is not a string: a payload error
  auto partial = Post("/v1/sip/attach", R"({"service": "sip", "directions": [{"type": "inbound"}],
      "phone_numbers": ["+14155550100", "not-a-number", "14155550101"]})");
  ASSERT_EQ(partial.status, 200);
  const auto data = Json(partial.body).at("data");
  EXPECT_EQ(data.at("configured").as_array().size(), 2U);
  ASSERT_EQ(data.at("failed").as_array().size(), 1U);
  EXPECT_EQ(data.at("failed").at(0).at("reason").as_string(), "invalid_number");

  // 10 configurations per number: 5 trunks x 2 directions fit, the 11th does not.
  for (int i = 0; i < 5; ++i) {
    auto t = Post("/v1/sip/trunks", R"({"name": "t)" + std::to_string(i) +
                                        R"(", "sip_endpoint": "pbx.example.com"})");
    ASSERT_EQ(t.status, 201) << t.body;
    const std::string id(Json(t.body).at("data").at("id").as_string());
    auto a = Post("/v1/sip/attach", R"({"service": "sip", "phone_number": "+14155550199",
        "trunk_id": ")" + id + R"(", "directions": [{"type": "inbound"}, {"type": "outbound"}]})");
    ASSERT_EQ(Json(a.body).at("data").at("configured").as_array().size(), 1U) << a.body;
  }
  auto eleventh = Post("/v1/sip/attach", R"({"service": "sip", "phone_number": "+14155550199",
      "directions": [{"type": "outbound", "sip_endpoint": "x.example.com"}]})");
  ASSERT_EQ(eleventh.status, 200);
  EXPECT_EQ(Json(eleventh.body).at("data").at("failed").at(0).at("reason").as_string(),
            "config_limit");
  auto configs = Get("/v1/sip?phone_number=%2B14155550199");
  EXPECT_EQ(Json(configs.body).at("data").at("configurations").as_array().size(), 10U);

  std::string headers = "{";
  for (int i = 0; i < 16; ++i) {
    headers += (i ? "," : "") + std::string("\"X-H") + std::to_string(i) + "\": \"v\"";
  }
  auto h = Post("/v1/sip/attach", R"({"service": "sip", "phone_number": "+14155550100",
      "directions": [{"type": "inbound", "headers": )" +
                                      headers + "}}]}");
  EXPECT_TRUE(HasError(h, "directions[0].headers", "TOO_MANY"));
  auto ok = Post("/v1/sip/attach", R"({"service": "sip", "phone_number": "+14155550100",
      "directions": [{"type": "inbound", "headers": [{"type": "custom", "key": "X-Cool-Guy",
      "value": "First_Name"}, {"type": "custom", "key": "X-Call", "value": "call_id"}]}]})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto view = Get("/v1/sip?phone_number=%2B14155550100");
  const auto mapped = Json(view.body).at("data").at("inbound").at("headers").as_array();
  ASSERT_EQ(mapped.size(), 1U);  // the reserved variable call_id is ignored, as Bland does
  EXPECT_EQ(mapped[0].at("key").as_string(), "X-Cool-Guy");
}

TEST_P(Sip, UpdateDetachAndAdvancedConfig) {
  ASSERT_EQ(Post("/v1/sip/attach", kAttachOutbound).status, 200);
  auto upd = Post("/v1/sip/update", R"({"phone_number": "+14150000001", "updates": {"type":
      "outbound", "sip_endpoint": "sip:new.provider.com", "options": {"port": 5061,
      "transport": "tls", "secure_media": true}}})");
  ASSERT_EQ(upd.status, 200) << upd.body;
  const auto v = Json(upd.body).at("data");
  EXPECT_EQ(v.at("sip_endpoint").as_string(), "sip:new.provider.com");
  EXPECT_EQ(v.at("options").at("transport").as_string(), "tls");
  EXPECT_EQ(Post("/v1/sip/update", R"({"phone_number": "+14150000001", "updates":
      {"type": "inbound", "auth_mode": "ip"}})")
                .status,
            404);
  EXPECT_EQ(Post("/v1/sip/update", R"({"phone_number": "+1415", "updates": {"type": "outbound"}})")
                .status,
            400);

  auto cfg = Call(*api_, "PATCH", "/v1/sip/config", key_, R"({"phone_number": "+14150000001",
      "direction": "outbound", "failover_config": {"enabled": true, "endpoints": [
        {"host": "backup1.sip.provider.com", "port": 5061, "transport": "tls", "priority": 1},
        {"host": "2001:db8::7", "transport": "udp"}],
      "triggers": ["unreachable", "timeout"], "failback": "auto"},
      "codec_config": {"codecs": ["opus", {"name": "PCMU", "enabled": false}, "PCMA"],
                       "transcode": false}})");
  ASSERT_EQ(cfg.status, 200) << cfg.body;
  const auto c = Json(cfg.body).at("data");
  EXPECT_EQ(c.at("failover_config").at("endpoints").at(1).at("port").as_int64(), 5060);
  EXPECT_EQ(c.at("codec_config").at("codecs").at(0).as_string(), "Opus");
  EXPECT_EQ(c.at("codec_config").at("disabled").at(0).as_string(), "PCMU");
  EXPECT_TRUE(c.at("alert_config").is_null());
  auto alerts = Call(*api_, "PATCH", "/v1/sip/config", key_, R"({"phone_number": "+14150000001",
      "direction": "outbound", "alert_config": {"thresholds": {"unreachable_minutes": 5,
      "failure_rate_percent": 20}, "channels": {"email": true, "webhook": "https://h.example/x"}}})");
  ASSERT_EQ(alerts.status, 200) << alerts.body;
  const auto a = Json(alerts.body).at("data");
  EXPECT_FALSE(a.at("failover_config").is_null());  // earlier settings kept
  EXPECT_EQ(a.at("alert_config").at("thresholds").at("failure_rate_window_minutes").as_int64(), 15);

  auto bad = Call(*api_, "PATCH", "/v1/sip/config", key_, R"({"phone_number": "+14150000001",
      "direction": "outbound", "failover_config": {"endpoints": [{"host": "sip:x@y", "port": 0},
      {"host": "a"}, {"host": "b"}, {"host": "c"}], "triggers": ["sometimes"], "failback": "now"},
      "codec_config": {"codecs": ["PCMU", "PCMU", "AMR"]},
      "alert_config": {"thresholds": {"failure_rate_percent": 101}, "channels": {"webhook": "ftp://x"}}})");
  ASSERT_EQ(bad.status, 400);
  for (const auto& [field, code] : std::vector<std::pair<std::string, std::string>>{
           {"failover_config.endpoints", "INVALID_VALUE"},
           {"failover_config.triggers", "INVALID_VALUE"},
           {"failover_config.failback", "INVALID_VALUE"},
           {"codec_config.codecs[1]", "DUPLICATE_CODEC"},
           {"codec_config.codecs[2]", "UNKNOWN_CODEC"},
           {"alert_config.thresholds.failure_rate_percent", "OUT_OF_RANGE"},
           {"alert_config.channels.webhook", "INVALID_URL"}}) {
    EXPECT_TRUE(HasError(bad, field, code)) << field << " in " << bad.body;
  }
  EXPECT_EQ(Call(*api_, "PATCH", "/v1/sip/config", key_,
                 R"({"phone_number": "+14159999999", "direction": "outbound",
                     "codec_config": {"codecs": ["PCMU"]}})")
                .status,
            404);

  auto detach = Post("/v1/sip/detach", R"({"phone_number": "+14150000001",
      "directions": [{"type": "outbound"}], "service": "sip"})");
  ASSERT_EQ(detach.status, 200);
  EXPECT_EQ(Json(detach.body).at("data").at("detached").at(0).at("directions").at(0).as_string(),
            "outbound");
  EXPECT_EQ(Get("/v1/sip?phone_number=%2B14150000001").status, 404);
  auto again = Post("/v1/sip/detach", R"({"phone_number": "+14150000001", "service": "sip"})");
  EXPECT_EQ(Json(again.body).at("data").at("not_configured").at(0).as_string(), "+14150000001");
}

TEST_P(Sip, TrunksAreSharedAndChangesApplyToTheirNumbers) {
  auto t = Post("/v1/sip/trunks", R"({"name": "main pbx", "sip_endpoint": "sip:pbx.example.com",
      "options": {"transport": "tcp", "sip_password": "trunk-secret", "sip_username": "u"}})");
  ASSERT_EQ(t.status, 201) << t.body;
  EXPECT_EQ(t.body.find("trunk-secret"), std::string::npos);
  const std::string id(Json(t.body).at("data").at("id").as_string());
  auto a = Post("/v1/sip/attach", R"({"service": "sip", "trunk_id": ")" + id +
                                      R"(", "phone_numbers": ["+14155550100", "+14155550101"],
      "directions": [{"type": "outbound"}]})");
  ASSERT_EQ(Json(a.body).at("data").at("configured").as_array().size(), 2U) << a.body;
  auto before = Get("/v1/sip?phone_number=%2B14155550101");
  EXPECT_EQ(Json(before.body).at("data").at("outbound").at("sip_endpoint").as_string(),
            "sip:pbx.example.com");
  auto patched = Call(*api_, "PATCH", "/v1/sip/trunks/" + id, key_,
                      R"({"sip_endpoint": "sips:new-pbx.example.com"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Json(patched.body).at("data").at("attached_numbers").as_int64(), 2);
  for (const char* n : {"%2B14155550100", "%2B14155550101"}) {
    auto after = Get(std::string("/v1/sip?phone_number=") + n);
    const auto out = Json(after.body).at("data").at("outbound");
    EXPECT_EQ(out.at("sip_endpoint").as_string(), "sips:new-pbx.example.com");
    EXPECT_EQ(out.at("options").at("transport").as_string(), "tcp");
    EXPECT_EQ(out.at("options").at("sip_password").as_string(), trunks::kRedacted);
  }
  auto in_use = Call(*api_, "DELETE", "/v1/sip/trunks/" + id, key_);
  EXPECT_EQ(in_use.status, 409);
  EXPECT_EQ(Json(in_use.body).at("errors").at(0).at("error").as_string(), "TRUNK_IN_USE");
  ASSERT_EQ(Post("/v1/sip/detach", R"({"service": "sip", "trunk_id": ")" + id +
                                       R"(", "phone_numbers": ["+14155550100", "+14155550101"]})")
                .status,
            200);
  EXPECT_EQ(Call(*api_, "DELETE", "/v1/sip/trunks/" + id, key_).status, 200);
  EXPECT_EQ(Get("/v1/sip/trunks/" + id).status, 404);
  EXPECT_EQ(Post("/v1/sip/trunks", R"({"name": "dup"})").status, 201);
  EXPECT_EQ(Post("/v1/sip/trunks", R"({"name": "dup"})").status, 409);
  EXPECT_EQ(Post("/v1/sip/attach", R"({"service": "sip", "trunk_id": "trk_nope",
      "phone_number": "+14155550100", "directions": [{"type": "outbound"}]})")
                .status,
            404);
}

TEST_P(Sip, OrganizationsCannotSeeOrTouchEachOther) {
  ASSERT_EQ(Post("/v1/sip/attach", kAttachRegister).status, 200);
  auto t = Post("/v1/sip/trunks", R"({"name": "mine", "sip_endpoint": "pbx.example.com"})");
  const std::string trunk(Json(t.body).at("data").at("id").as_string());
  const std::string other = NewOrgKey("globex");
  EXPECT_EQ(Get("/v1/sip?phone_number=%2B14150000000", other).status, 404);
  EXPECT_EQ(Json(Get("/v1/sip/numbers", other).body).at("data").at("numbers").as_array().size(),
            0U);
  EXPECT_EQ(Get("/v1/sip/trunks/" + trunk, other).status, 404);
  EXPECT_EQ(Call(*api_, "DELETE", "/v1/sip/trunks/" + trunk, other).status, 404);
  EXPECT_EQ(Post("/v1/sip/update", R"({"phone_number": "+14150000000", "updates":
      {"type": "inbound", "auth_mode": "ip"}})",
                 other)
                .status,
            404);
  auto detach =
      Post("/v1/sip/detach", R"({"phone_number": "+14150000000", "service": "sip"})", other);
  EXPECT_EQ(Json(detach.body).at("data").at("not_configured").as_array().size(), 1U);
  EXPECT_EQ(Post("/v1/sip/attach",
                 R"({"service": "sip", "trunk_id": ")" + trunk +
                     R"(", "phone_number": "+14155550100",
      "directions": [{"type": "outbound"}]})",
                 other)
                .status,
            404);
  EXPECT_EQ(Get("/v1/sip?phone_number=%2B14150000000").status, 200);  // untouched

  const std::string no_sip = NewOrgKey("initech", {});
  auto denied = Get("/v1/sip/numbers", no_sip);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Json(denied.body).at("errors").at(0).at("error").as_string(), "SIP_NOT_ENABLED");
}

TEST_P(Sip, ParseDestinationFirewallAndOutboundSetup) {
  auto p = Post("/v1/sip/parse-destination",
                R"({ "input": "sip:your.provider.com:5061;transport=tls" })");
  ASSERT_EQ(p.status, 200);
  const auto d = Json(p.body).at("data");
  EXPECT_TRUE(d.at("valid").as_bool());
  EXPECT_EQ(d.at("parsed").at("normalized").as_string(),
            "sip:your.provider.com:5061;transport=tls");
  EXPECT_FALSE(d.at("parsed").as_object().contains("user"));  // only when present
  auto invalid = Post("/v1/sip/parse-destination", R"({"input": "sip:host:99999"})");
  ASSERT_EQ(invalid.status, 200);
  EXPECT_FALSE(Json(invalid.body).at("data").at("valid").as_bool());
  EXPECT_TRUE(Json(invalid.body).at("data").at("parsed").is_null());
  EXPECT_EQ(Post("/v1/sip/parse-destination", R"({"inpt": "x"})").status, 400);

  // This fixture's deployment configured no public address: it says so, and names no one's.
  auto fw = Get("/v1/sip/firewall-ips");
  ASSERT_EQ(fw.status, 200);
  const auto fw_data = Json(fw.body).at("data");
  EXPECT_TRUE(fw_data.at("ip_addresses").as_array().empty());
  EXPECT_NE(boost::json::serialize(fw_data.at("unconfigured")).find("sip.public_ips"),
            std::string::npos);
  EXPECT_EQ(fw.body.find("bland"), std::string::npos);
  EXPECT_EQ(Get("/v1/sip/firewall-ips?region=mars").status, 400);

  auto setup = Get("/v1/sip/outbound-setup");
  ASSERT_EQ(setup.status, 200);
  EXPECT_TRUE(Json(setup.body).at("data").at("sip_server").is_null());
  EXPECT_NE(std::string(Json(setup.body).at("data").at("instructions").as_string())
                .find("sip.public_host"),
            std::string::npos);
  EXPECT_TRUE(Json(setup.body).at("data").at("credentials").is_null());
}

TEST_P(Sip, IdempotentAttachReplays) {
  const api::Header idem{"Idempotency-Key", "attach-1"};
  auto first = Call(*api_, "POST", "/v1/sip/attach", key_, kAttachRegister, {idem});
  auto second = Call(*api_, "POST", "/v1/sip/attach", key_, kAttachRegister, {idem});
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body, second.body);
  ASSERT_EQ(second.headers.size(), 1U);
  EXPECT_EQ(second.headers[0].name, "Idempotent-Replayed");
}

// A query parameter an operation does not document is a 400 naming it (a typo must not
// silently widen a list); documented ones, repeated ones and parameters of other operations
// behave as before.
TEST_P(Sip, UnknownQueryParametersAreNamed) {
  auto typo = Get("/v1/sip?phone_numbr=%2B14150000001");
  ASSERT_EQ(typo.status, 400) << typo.body;
  EXPECT_TRUE(HasError(typo, "phone_numbr", "UNKNOWN_PARAMETER")) << typo.body;
  EXPECT_NE(typo.body.find("this endpoint takes phone_number"), std::string::npos) << typo.body;

  auto two = Get("/v1/sip/trunks?limit=5&page=2&sort=name");
  ASSERT_EQ(two.status, 400);
  EXPECT_TRUE(HasError(two, "page", "UNKNOWN_PARAMETER"));
  EXPECT_TRUE(HasError(two, "sort", "UNKNOWN_PARAMETER"));
  EXPECT_FALSE(HasError(two, "limit", "UNKNOWN_PARAMETER"));

  auto none = Get("/v1/sip/port/documents/doc_x/content?download=1");
  ASSERT_EQ(none.status, 400);
  EXPECT_NE(none.body.find("this endpoint takes none"), std::string::npos) << none.body;

  EXPECT_EQ(Get("/v1/sip/trunks?limit=5").status, 200);
  EXPECT_EQ(
      Get("/v1/sip/port/check?phone_numbers[]=%2B14155550100&phone_numbers=%2B14155550101").status,
      200);
  // Checked before any work: an idempotent POST with a stray parameter keeps nothing.
  const api::Header idem{"Idempotency-Key", "stray-1"};
  auto stray = Call(*api_, "POST", "/v1/sip/attach?dry_run=1", key_, kAttachRegister, {idem});
  EXPECT_EQ(stray.status, 400);
  EXPECT_EQ(Get("/v1/sip?phone_number=%2B14150000000").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, Sip, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace portline
