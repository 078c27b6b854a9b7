// The real `portline serve` binary on 127.0.0.1:0, over SQLite and over PostgreSQL, talked to
// over raw sockets so that malformed, oversized and slow requests can be sent too.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <thread>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/pg.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

using testing::HttpConnection;
using testing::HttpRequest;
using testing::HttpResponse;

boost::json::value Json(const std::string& s) { return boost::json::parse(s); }

std::string FirstErrorCode(const HttpResponse& r) {
  return std::string(Json(r.body).at("errors").at(0).at("error").as_string());
}

class ServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = {{"PORTLINE_DATA_DIR", dir_.path()},      {"PORTLINE_HEADER_TIMEOUT_MS", "700"},
            {"PORTLINE_BODY_TIMEOUT_MS", "3000"},    {"PORTLINE_MAX_BODY_BYTES", "4096"},
            {"PORTLINE_MAX_HEADER_BYTES", "2048"},   {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"},
            {"PORTLINE_SHUTDOWN_TIMEOUT_MS", "5000"}};
    if (GetParam() == "postgres") {
      PORTLINE_REQUIRE_PG_OR_SKIP();
      env_["PORTLINE_DATABASE_URL"] = testing::FreshPgDatabase();
    }
    Start();
    auto key = testing::RunPortline({"key", "create", "--org", "default"}, env_);
    ASSERT_EQ(key.exit_code, 0) << key.err;
    key_ = key.out.substr(0, key.out.find('\n'));
    ASSERT_EQ(key_.size(), 51U);
  }

  void Start() {
    server_ = std::make_unique<testing::ServerProcess>(std::vector<std::string>{}, env_);
    ASSERT_NE(server_->port(), 0) << server_->stderr_text();
  }

  std::uint16_t port() const { return server_->port(); }
  std::map<std::string, std::string> Auth() const { return {{"Authorization", "Bearer " + key_}}; }

  testing::TempDir dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::string key_;
};

TEST_P(ServerTest, DocumentUploadsHaveTheirOwnBodyLimit) {
  // PORTLINE_MAX_BODY_BYTES is 4096 here; a document upload may still be 10 MB.
  const std::string boundary = "b0undary";
  std::string pdf = "%PDF-1.4\n" + std::string(3 * 1024 * 1024, ' ') + "\n%%EOF\n";
  const std::string body =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bill.pdf\""
      "\r\nContent-Type: application/pdf\r\n\r\n" +
      pdf + "\r\n--" + boundary + "--\r\n";
  auto headers = Auth();
  headers["Content-Type"] = "multipart/form-data; boundary=" + boundary;
  auto up = HttpRequest(port(), "POST", "/v1/sip/port/document", body, headers);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 201) << up->body.substr(0, 300);
  const std::string sid(Json(up->body).at("data").at("document_sid").as_string());
  auto down = HttpRequest(port(), "GET", "/v1/sip/port/documents/" + sid + "/content", "", Auth());
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 200);
  EXPECT_EQ(down->body, pdf);
  EXPECT_EQ(down->Header("content-type"), "application/pdf");
  EXPECT_EQ(down->Header("content-disposition"), "attachment; filename=\"bill.pdf\"");
  // Other routes keep the small limit, and an upload over its own limit is refused up front.
  auto json =
      HttpRequest(port(), "POST", "/v1/sip/port/initiate", std::string(5000, ' '),
                  {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 413);
  testing::HttpConnection conn(port());
  ASSERT_TRUE(
      conn.SendRaw("POST /v1/sip/port/document HTTP/1.1\r\nHost: x\r\nAuthorization: "
                   "Bearer " +
                   key_ +
                   "\r\nContent-Type: multipart/form-data; boundary=b"
                   "\r\nContent-Length: 11534336\r\n\r\n--b\r\n"));
  auto huge = conn.Read();  // answered from the headers alone
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  EXPECT_NE(huge->body.find("10551296"), std::string::npos) << huge->body;
}

// A body still to come is read only once its key is known good, and only up to its route's
// limit, even when it came in the same read as the header.
TEST_P(ServerTest, BodiesWaitForTheKeyAndTheirRoutesLimit) {
  for (const std::string& auth :
       {std::string(), std::string("Authorization: Bearer pl_live_not-a-key\r\n")}) {
    testing::HttpConnection conn(port(), std::chrono::seconds(2));
    ASSERT_TRUE(conn.SendRaw("POST /v1/sip/port/document HTTP/1.1\r\nHost: x\r\n" + auth +
                             "Content-Type: multipart/form-data; boundary=b\r\n"
                             "Content-Length: 9437184\r\n\r\n--b\r\n"));
    // Answered at once, long before the body timeout (3 s here) and without the 9 MiB.
    auto r = conn.Read();
    ASSERT_TRUE(r) << "no answer before the body was sent";
    EXPECT_EQ(r->status, 401) << r->body;
    EXPECT_TRUE(conn.WaitClosed(std::chrono::seconds(2)));
  }
  // A chunk bigger than the route's limit (4096 here) in the first read is still too big.
  testing::HttpConnection conn(port());
  const std::string chunk(6000, ' ');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  ASSERT_TRUE(
      conn.SendRaw("POST /v1/sip/port/initiate HTTP/1.1\r\nHost: x\r\nAuthorization: "
                   "Bearer " +
                   key_ +
                   "\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n" +
                   size + "\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = conn.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  // With a good key the body is read as before.
  auto ok =
      HttpRequest(port(), "POST", "/v1/sip/port/check", R"({"phone_numbers": ["+14155550100"]})",
                  {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_P(ServerTest, SigningPageOverHttp) {
  const std::string body = R"({"phone_numbers": ["+14155550100"], "losing_carrier_information":
    {"customer_type": "business", "business_name": "Acme Corp", "first_name": "Jane",
    "last_name": "Doe", "account_number": "ACC-12345", "authorized_representative_email":
    "jane@acme.example", "address": {"street": "123 Main St", "city": "San Francisco",
    "state": "CA", "zip": "94105"}}})";
  auto headers = Auth();
  headers["Content-Type"] = "application/json";
  auto created = HttpRequest(port(), "POST", "/v1/sip/port/initiate", body, headers);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const auto data = Json(created->body).at("data");
  const std::string id(data.at("port_request_id").as_string());
  const std::string url(data.at("signature_url").as_string());
  const std::string path = url.substr(url.find("/sign/"));
  auto page = HttpRequest(port(), "GET", path);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->Header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("name=\"viewport\""), std::string::npos);  // usable on a phone
  auto pdf = HttpRequest(port(), "GET", path + "/loa");
  ASSERT_TRUE(pdf);
  EXPECT_EQ(pdf->status, 200);
  EXPECT_EQ(pdf->Header("content-type"), "application/pdf");
  auto signed_page = HttpRequest(
      port(), "POST", path, "name=Jane+Doe&consent=yes",
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"User-Agent", "e2e-browser/1.0"}});
  ASSERT_TRUE(signed_page);
  EXPECT_EQ(signed_page->status, 200) << signed_page->body;
  EXPECT_NE(signed_page->body.find("Signed by Jane Doe"), std::string::npos);
  auto loa = HttpRequest(port(), "GET", "/v1/sip/port/" + id + "/loa", "", Auth());
  ASSERT_TRUE(loa);
  EXPECT_EQ(loa->status, 200);
  EXPECT_EQ(loa->Header("content-disposition"), "attachment; filename=\"loa-" + id + ".pdf\"");
  EXPECT_GT(loa->body.size(), pdf->body.size());  // the certificate page was added
  auto view = HttpRequest(port(), "GET", "/v1/sip/port/" + id, "", Auth());
  ASSERT_TRUE(view);
  EXPECT_EQ(Json(view->body).at("data").at("status").as_string(), "submitted");
  // The link's token is a credential: never in the access log or the metrics.
  const std::string token = path.substr(6);
  auto metrics = HttpRequest(port(), "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find(token), std::string::npos);
  const std::string log = server_->stderr_text();
  EXPECT_NE(log.find("/sign/[token]"), std::string::npos) << "the access log shows the route";
  EXPECT_EQ(log.find(token), std::string::npos) << log;
}

TEST_P(ServerTest, HealthReadinessAndRequestIds) {
  auto h = HttpRequest(port(), "GET", "/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, R"({"status":"ok"})");
  EXPECT_EQ(h->Header("x-request-id").rfind("req_", 0), 0U);

  auto ready = HttpRequest(port(), "GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(Json(ready->body).at("storage").as_string(), GetParam());

  auto echoed = HttpRequest(port(), "GET", "/v1/nope", "", {{"X-Request-Id", "trace-42"}});
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->Header("x-request-id"), "trace-42");
  EXPECT_EQ(Json(echoed->body).at("request_id").as_string(), "trace-42");
  // The access log line is written just after the response; wait for it (bounded).
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = server_->stderr_text().find("\"request_id\":\"trace-42\"") != std::string::npos;
    if (!logged) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(logged);

  auto hostile_id = HttpRequest(port(), "GET", "/healthz", "", {{"X-Request-Id", "a b\"c"}});
  ASSERT_TRUE(hostile_id);
  EXPECT_EQ(hostile_id->Header("x-request-id").rfind("req_", 0), 0U);  // replaced, not echoed
}

TEST_P(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpConnection c(port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    auto r = c.Request("GET", "/v1/organization", "", Auth());
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(Json(r->body).at("data").at("name").as_string(), "default");
  }
  // Two pipelined requests in one write.
  ASSERT_TRUE(
      c.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n"
                "Host: x\r\n\r\n"));
  EXPECT_EQ(c.Read()->status, 200);
  EXPECT_EQ(c.Read()->status, 200);
}

TEST_P(ServerTest, AuthenticationBothHeaderFormsAndEntitlement) {
  auto none = HttpRequest(port(), "GET", "/v1/organization");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->Header("www-authenticate"), "Bearer");
  auto bare = HttpRequest(port(), "GET", "/v1/organization", "", {{"authorization", key_}});
  EXPECT_EQ(bare->status, 200);
  auto wrong = HttpRequest(port(), "GET", "/v1/organization", "",
                           {{"Authorization", "Bearer pl_" + std::string(48, '0')}});
  EXPECT_EQ(wrong->status, 401);

  auto created = testing::RunPortline({"org", "create", "nosip"}, env_);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto k = testing::RunPortline({"key", "create", "--org", "nosip"}, env_);
  const std::string nosip_key = k.out.substr(0, k.out.find('\n'));
  auto sip = HttpRequest(port(), "GET", "/v1/sip/numbers", "", {{"authorization", nosip_key}});
  ASSERT_TRUE(sip);
  EXPECT_EQ(sip->status, 403);
  EXPECT_EQ(Json(sip->body).at("errors").at(0).at("error").as_string(), "SIP_NOT_ENABLED");
}

TEST_P(ServerTest, HostileInputGetsPrecise4xxAndServerStaysUp) {
  auto bad_json = HttpRequest(port(), "POST", "/v1/api-keys", R"({"name": )", Auth());
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(FirstErrorCode(*bad_json), "INVALID_JSON");

  auto bad_utf8 = HttpRequest(port(), "POST", "/v1/api-keys", "{\"name\": \"\xC3\x28\"}", Auth());
  EXPECT_EQ(bad_utf8->status, 400);

  auto headers = Auth();
  headers["Content-Type"] = "text/plain";
  auto wrong_type = HttpRequest(port(), "POST", "/v1/api-keys", R"({"name":"x"})", headers);
  EXPECT_EQ(wrong_type->status, 415);

  auto too_big = HttpRequest(port(), "POST", "/v1/api-keys", std::string(5000, ' '), Auth());
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);

  auto big_header = HttpRequest(port(), "GET", "/healthz", "", {{"X-Big", std::string(3000, 'a')}});
  ASSERT_TRUE(big_header);
  EXPECT_EQ(big_header->status, 431);

  auto unknown = HttpRequest(port(), "GET", "/nowhere");
  EXPECT_EQ(unknown->status, 404);
  auto method = HttpRequest(port(), "PUT", "/v1/api-keys", R"({})", Auth());
  EXPECT_EQ(method->status, 405);
  EXPECT_EQ(method->Header("allow"), "GET, POST");
  auto bad_target = HttpRequest(port(), "GET", "/v1/api-keys?x=%ZZ", "", Auth());
  EXPECT_EQ(bad_target->status, 400);

  {
    HttpConnection c(port());
    ASSERT_TRUE(c.SendRaw("THIS IS NOT HTTP\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  {
    HttpConnection c(port());
    static constexpr char kGarbage[] = "\x00\xFF\xFE garbage \r\n\r\n";
    ASSERT_TRUE(c.SendRaw(std::string(kGarbage, sizeof kGarbage - 1)));
    auto r = c.Read();
    if (r) {
      EXPECT_EQ(r->status, 400);
    }
  }
  {
    HttpConnection c(port());  // conflicting Content-Length headers (request smuggling)
    ASSERT_TRUE(
        c.SendRaw("POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                  "Content-Length: 3\r\n\r\n{}"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  auto alive = HttpRequest(port(), "GET", "/healthz");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
}

TEST_P(ServerTest, SlowClientsCannotHoldTheServer) {
  std::vector<std::unique_ptr<HttpConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    auto c = std::make_unique<HttpConnection>(port());
    ASSERT_TRUE(c->SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    slow.push_back(std::move(c));
  }
  // Others are still served at once while the slow ones dribble.
  auto r = HttpRequest(port(), "GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The header timeout (700 ms) closes every slow connection.
  for (auto& c : slow) {
    EXPECT_TRUE(c->WaitClosed(std::chrono::seconds(5)));
  }
  auto metrics = HttpRequest(port(), "GET", "/metrics");
  EXPECT_NE(metrics->body.find("reason=\"slow_client\""), std::string::npos);
}

TEST_P(ServerTest, MetricsCountRequestsByRouteAndStatus) {
  ASSERT_EQ(HttpRequest(port(), "GET", "/healthz")->status, 200);
  ASSERT_EQ(HttpRequest(port(), "GET", "/v1/api-keys", "", Auth())->status, 200);
  auto m = HttpRequest(port(), "GET", "/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->Header("content-type").rfind("text/plain; version=0.0.4", 0), 0U);
  EXPECT_NE(
      m->body.find(R"(portline_http_requests_total{method="GET",route="/healthz",status="200"} )"),
      std::string::npos);
  EXPECT_NE(
      m->body.find(
          R"(portline_http_request_duration_seconds_bucket{route="/v1/api-keys",le="+Inf"} 1)"),
      std::string::npos);
}

TEST_P(ServerTest, OpenApiIsServedWithoutAuth) {
  auto r = HttpRequest(port(), "GET", "/v1/openapi.json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json(r->body).at("openapi").as_string(), "3.1.0");
}

TEST_P(ServerTest, GracefulShutdownFinishesInFlightAndClosesIdle) {
  HttpConnection idle(port());
  ASSERT_EQ(idle.Request("GET", "/healthz")->status, 200);  // now idle in keep-alive

  HttpConnection in_flight(port());
  const std::string body = R"({"name":"during-shutdown"})";
  ASSERT_TRUE(in_flight.SendRaw("POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                key_ + "\r\nContent-Type: application/json\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5)));
  // Let the server read the head, so the connection is in flight rather than idle.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));

  server_->Signal(SIGTERM);
  EXPECT_TRUE(idle.WaitClosed(std::chrono::seconds(3)));
  ASSERT_TRUE(in_flight.SendRaw(body.substr(5)));
  auto r = in_flight.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(server_->Wait(std::chrono::seconds(10)), 0);
  EXPECT_FALSE(HttpConnection(port()).connected());  // no longer accepting
}

TEST_P(ServerTest, AcceptedWorkSurvivesSigkill) {
  auto created = HttpRequest(port(), "POST", "/v1/api-keys", R"({"name":"durable"})", Auth());
  ASSERT_EQ(created->status, 201);
  const std::string secret(Json(created->body).at("data").at("key").as_string());
  server_->Signal(SIGKILL);
  EXPECT_EQ(server_->Wait(std::chrono::seconds(10)), -SIGKILL);
  Start();
  auto again = HttpRequest(port(), "GET", "/v1/organization", "", {{"authorization", secret}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// E-mail has a thread of its own: an SMTP server that accepts and never answers delays the
// e-mail, never the porting workflow (it used to run in the workflow's tick, which then waited
// for the SMTP timeout before any step ran).
TEST(ServerMail, ASilentSmtpServerNeverStallsTheWorkflow) {
  std::uint16_t smtp_port = 0;
  const int silent = testing::ListenTcp("127.0.0.1", smtp_port);  // accepts, never answers
  ASSERT_GE(silent, 0);
  testing::TempDir dir;
  const std::map<std::string, std::string> env{
      {"PORTLINE_DATA_DIR", dir.path()},
      {"PORTLINE_MAIL_TRANSPORT", "smtp"},
      {"PORTLINE_MAIL_SMTP_HOST", "127.0.0.1"},
      {"PORTLINE_MAIL_SMTP_PORT", std::to_string(smtp_port)},
      {"PORTLINE_MAIL_SMTP_STARTTLS", "false"},
      {"PORTLINE_WORKER_INTERVAL_MS", "50"},
      {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  testing::ServerProcess server({}, env);
  ASSERT_NE(server.port(), 0) << server.stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, env);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::map<std::string, std::string> auth{
      {"Authorization", "Bearer " + key.out.substr(0, key.out.find('\n'))},
      {"Content-Type", "application/json"}};
  const std::string body = R"({"phone_numbers": ["+14155550100"], "losing_carrier_information":
    {"customer_type": "business", "business_name": "Acme Corp", "first_name": "Jane",
    "last_name": "Doe", "account_number": "ACC-12345", "authorized_representative_email":
    "jane@acme.example", "address": {"street": "123 Main St", "city": "San Francisco",
    "state": "CA", "zip": "94105"}}, "pin": "1234"})";
  auto created = HttpRequest(server.port(), "POST", "/v1/sip/port/initiate", body, auth);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const auto data = Json(created->body).at("data");
  const std::string id(data.at("port_request_id").as_string());
  const std::string url(data.at("signature_url").as_string());
  // The signature e-mail is being sent once the SMTP server has a connection waiting.
  pollfd pending{silent, POLLIN, 0};
  ASSERT_EQ(::poll(&pending, 1, 5000), 1) << "the signature e-mail was never attempted";
  auto signed_page = HttpRequest(server.port(), "POST", url.substr(url.find("/sign/")),
                                 "name=Jane+Doe&consent=yes",
                                 {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(signed_page);
  ASSERT_EQ(signed_page->status, 200) << signed_page->body;
  // The submit step is due now: the workflow runs it at its next tick, e-mail or not.
  bool submitted = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!submitted && std::chrono::steady_clock::now() < deadline) {
    auto events = HttpRequest(server.port(), "GET", "/v1/sip/port/" + id + "/events", "", auth);
    submitted = events && events->body.find("port.order_submitted") != std::string::npos;
    if (!submitted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
    }
  }
  EXPECT_TRUE(submitted) << "the workflow waited for the SMTP server";
  ::close(silent);
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace portline
