// Webhooks end to end: a receiver on loopback verifies every signature, fails on purpose, and
// checks retries on the ladder, ordering by sequence, dedupe by id, rotation and filters.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "support/backend_fixture.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "webhooks/signing.hpp"

namespace portline {
namespace {

struct Received {
  std::string id, timestamp, signature, body;
  bool valid = false;
};

// A tiny HTTP receiver: one connection at a time, answers with the next queued status (200 when
// the queue is empty), verifies the Standard Webhooks signature with `secrets`.
class Receiver {
 public:
  explicit Receiver(const Clock& clock) : clock_(clock) {
    fd_ = testing::ListenTcp("127.0.0.1", port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    for (int c : hung_) {
      ::close(c);
    }
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks"; }
  void SetSecrets(std::vector<std::string> s) {
    std::lock_guard lock(mu_);
    secrets_ = std::move(s);
  }
  // The next request is read and recorded but never answered (a peer that hangs).
  void HangNext() {
    std::lock_guard lock(mu_);
    statuses_.push_back(0);
  }
  void FailNext(int n, int status = 500) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) {
      statuses_.push_back(status);
    }
  }
  std::vector<Received> Got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  void Loop() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      std::string in;
      char buf[8192];
      std::size_t need = std::string::npos;
      while (true) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) {
          break;
        }
        in.append(buf, static_cast<std::size_t>(n));
        const std::size_t head = in.find("\r\n\r\n");
        if (head != std::string::npos && need == std::string::npos) {
          const std::size_t cl = in.find("Content-Length: ");
          need = head + 4 + static_cast<std::size_t>(std::stoul(in.substr(cl + 16)));
        }
        if (need != std::string::npos && in.size() >= need) {
          break;
        }
      }
      auto header = [&in](const std::string& name) {
        const std::size_t p = in.find("\r\n" + name + ": ");
        if (p == std::string::npos) {
          return std::string();
        }
        const std::size_t s = p + name.size() + 4;
        return in.substr(s, in.find("\r\n", s) - s);
      };
      Received r;
      r.id = header("webhook-id");
      r.timestamp = header("webhook-timestamp");
      r.signature = header("webhook-signature");
      r.body = in.substr(in.find("\r\n\r\n") + 4);
      int status = 200;
      {
        std::lock_guard lock(mu_);
        r.valid = webhooks::Verify(secrets_, r.id, r.timestamp, r.signature, r.body, clock_.Now())
                      .has_value();
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
        got_.push_back(r);
      }
      if (status == 0) {
        hung_.push_back(c);  // closed in the destructor
        continue;
      }
      const std::string resp = "HTTP/1.1 " + std::to_string(status) +
                               " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  const Clock& clock_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> secrets_;
  std::deque<int> statuses_;
  std::vector<Received> got_;
  std::vector<int> hung_;
};

const char* kPort = R"({"phone_numbers": ["+14155550100"],
  "losing_carrier_information": {"customer_type": "business", "business_name": "Acme Corp",
  "first_name": "Jane", "last_name": "Doe", "account_number": "ACC-12345",
  "authorized_representative_email": "jane@acme.example",
  "address": {"street": "123 Main St", "city": "San Francisco", "state": "CA", "zip": "94105"}}})";

class WebhooksTest : public testing::ApiTest {
 protected:
  std::pair<std::string, std::string> Endpoint(const std::string& url,
                                               const std::string& types = "[\"*\"]") {
    auto r = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                  R"({"url": ")" + url + R"(", "event_types": )" + types + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    const auto d = Json(r.body).at("data");
    return {std::string(d.at("id").as_string()), std::string(d.at("secret").as_string())};
  }
  std::string CreateAndSign() {
    auto r = Call(*api_, "POST", "/v1/sip/port/initiate", key_, kPort);
    EXPECT_EQ(r.status, 201) << r.body;
    const auto d = Json(r.body).at("data");
    const std::string url(d.at("signature_url").as_string());
    api::Request sign;
    sign.method = "POST";
    sign.target = url.substr(url.find("/sign/"));
    sign.request_id = "req_sign";
    EXPECT_TRUE(api::ParseTarget(sign.target, sign));
    sign.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    sign.body = "name=Jane+Doe&consent=yes";
    EXPECT_EQ(api_->Handle(sign).status, 200);
    return std::string(d.at("port_request_id").as_string());
  }
  int Drain() {
    int total = 0;
    for (int i = 0; i < 20; ++i) {
      const int n = hooks_->RunDue().value_or(-1);
      EXPECT_GE(n, 0);
      if (n <= 0) {
        break;
      }
      total += n;
    }
    return total;
  }
};

// Verification tries every secret given (a rotation has two; one that is not a secret at all
// does not stop the others) and signs the timestamp exactly as it was sent.
TEST(WebhookSigning, VerifyTriesEverySecretOverTheTimestampAsSent) {
  const std::string secret = webhooks::NewSecret();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto sig = webhooks::Sign(secret, "msg_1", 1700000000, "{}");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(webhooks::Verify({"not a secret!", secret}, "msg_1", "1700000000", *sig, "{}", now));
  EXPECT_TRUE(
      webhooks::Verify({webhooks::NewSecret(), secret}, "msg_1", "1700000000", *sig, "{}", now));
  // The signature covers the text sent: a timestamp written differently is another message.
  EXPECT_FALSE(webhooks::Verify({secret}, "msg_1", "01700000000", *sig, "{}", now));
  EXPECT_FALSE(webhooks::Verify({secret}, "msg_1", "1700000000", *sig, "{\"x\":1}", now));
}

TEST_P(WebhooksTest, SignedOrderedAndEachEventOnce) {
  Receiver rx(clock_);
  const auto [endpoint, secret] = Endpoint(rx.Url());
  EXPECT_EQ(secret.substr(0, 6), "whsec_");
  rx.SetSecrets({secret});
  const std::string request = CreateAndSign();
  Drain();
  const auto got = rx.Got();
  ASSERT_GE(got.size(), 4u);  // created, signature_requested, signed, submitted
  std::set<std::string> ids;
  std::vector<std::int64_t> sequences;
  std::set<std::string> types;
  for (const auto& r : got) {
    EXPECT_TRUE(r.valid) << r.id << " " << r.signature;
    ids.insert(r.id);
    const auto body = Json(r.body);
    EXPECT_EQ(body.at("id").as_string(), r.id);  // webhook-id is the event id
    EXPECT_EQ(body.at("data").at("port_request_id").as_string(), request);
    sequences.push_back(body.at("sequence").as_int64());
    types.insert(std::string(body.at("type").as_string()));
  }
  EXPECT_EQ(ids.size(), got.size());  // no duplicates without failures
  std::sort(sequences.begin(), sequences.end());
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    EXPECT_EQ(sequences[i], static_cast<std::int64_t>(i + 1));  // gapless per request
  }
  for (const char* t :
       {"port.created", "port.signature_requested", "port.signed", "port.submitted"}) {
    EXPECT_EQ(types.count(t), 1u) << t;
  }
  // The events API lists the same bodies.
  auto events = Call(*api_, "GET", "/v1/webhooks/events?port_request_id=" + request, key_);
  EXPECT_EQ(Json(events.body).at("data").at("events").as_array().size(), got.size());
  // Nothing is delivered twice.
  EXPECT_EQ(Drain(), 0);
  EXPECT_EQ(rx.Got().size(), got.size());
  EXPECT_EQ(Call(*api_, "GET", "/v1/webhooks/endpoints/" + endpoint, NewOrgKey("other")).status,
            404);
}

// Deleting an endpoint ends what it had queued or in flight, and only for its own organization.
TEST_P(WebhooksTest, EndpointsPerOrganizationAreCapped) {
  for (std::int64_t i = 0; i < webhooks::kMaxEndpointsPerOrg; ++i) {
    auto r = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                  R"({"url": "https://hooks.example.com/)" + std::to_string(i) + R"("})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto over = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                   R"({"url": "https://hooks.example.com/one-more"})");
  EXPECT_EQ(over.status, 409) << over.body;
  EXPECT_NE(over.body.find("LIMIT_REACHED"), std::string::npos);
  // Another organization has its own allowance.
  EXPECT_EQ(Call(*api_, "POST", "/v1/webhooks/endpoints", NewOrgKey("other"),
                 R"({"url": "https://hooks.example.com/x"})")
                .status,
            201);
}

TEST_P(WebhooksTest, DeletingAnEndpointEndsItsQueueAndNothingElse) {
  Receiver rx(clock_);
  const auto [endpoint, secret] = Endpoint(rx.Url());
  const auto [kept, kept_secret] = Endpoint(rx.Url());
  (void)secret;
  (void)kept_secret;
  CreateAndSign();
  auto claimed = hooks_->Claim(1);  // one of them in flight
  ASSERT_TRUE(claimed) << claimed.error().detail;
  ASSERT_EQ(claimed->size(), 1u);
  auto states = [&](const std::string& id) {
    auto lease = db_->Acquire();
    auto rows = (*lease)->Query(
        "SELECT status, COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY status "
        "ORDER BY status",
        {id});
    std::map<std::string, std::int64_t> out;
    for (const auto& r : *rows) {
      out[r.Text(0)] = r.Int(1);
    }
    return out;
  };
  const auto before = states(endpoint);
  const auto kept_before = states(kept);
  std::int64_t queued = 0;
  for (const auto& [status, n] : before) {
    queued += n;
  }
  ASSERT_GE(queued, 4);
  const std::string path = "/v1/webhooks/endpoints/" + endpoint;
  EXPECT_EQ(Call(*api_, "DELETE", path, NewOrgKey("intruder")).status, 404);
  EXPECT_EQ(states(endpoint), before);
  ASSERT_EQ(Call(*api_, "DELETE", path, key_).status, 200);
  EXPECT_EQ(states(endpoint), (std::map<std::string, std::int64_t>{{"failed", queued}}));
  EXPECT_EQ(states(kept), kept_before);
  EXPECT_EQ(Call(*api_, "DELETE", path, key_).status, 404);
  Drain();
  EXPECT_EQ(states(kept).at("succeeded"), queued);
}

TEST_P(WebhooksTest, RetriesFollowTheLadderAndAttemptsAreLogged) {
  Receiver rx(clock_);
  const auto [endpoint, secret] = Endpoint(rx.Url(), R"(["port.signature_requested"])");
  rx.SetSecrets({secret});
  rx.FailNext(2, 503);
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", key_, kPort).status, 201);
  EXPECT_EQ(Drain(), 1);  // attempt 1: 503
  clock_.Advance(std::chrono::seconds(4));
  EXPECT_EQ(Drain(), 0);  // the 5 s step (±10 %) has not passed
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(Drain(), 1);  // attempt 2: 503
  clock_.Advance(std::chrono::seconds(240));
  EXPECT_EQ(Drain(), 0);  // 5 min step
  clock_.Advance(std::chrono::seconds(90));
  EXPECT_EQ(Drain(), 1);  // attempt 3: 200
  const auto got = rx.Got();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, got[2].id);  // the same webhook-id every time: receivers dedupe on it
  auto attempts = Call(*api_, "GET", "/v1/webhooks/endpoints/" + endpoint + "/attempts", key_);
  const auto json = Json(attempts.body);
  const auto& list = json.at("data").at("attempts").as_array();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].at("status_code").as_int64(), 200);  // newest first
  EXPECT_EQ(list[2].at("status_code").as_int64(), 503);
  EXPECT_EQ(list[2].at("error").as_string(), "HTTP 503");
  // Redelivery: the same event again, same id.
  auto redo = Call(*api_, "POST", "/v1/webhooks/events/" + got[0].id + "/redeliver", key_);
  EXPECT_EQ(redo.status, 202) << redo.body;
  EXPECT_EQ(Drain(), 1);
  EXPECT_EQ(rx.Got().back().id, got[0].id);
}

TEST_P(WebhooksTest, RotationFiltersDisableAndTheGuard) {
  Receiver rx(clock_);
  const auto [endpoint, old_secret] = Endpoint(rx.Url());
  auto rotated = Call(*api_, "POST", "/v1/webhooks/endpoints/" + endpoint + "/rotate-secret", key_);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_secret(Json(rotated.body).at("data").at("secret").as_string());
  EXPECT_NE(new_secret, old_secret);
  const auto [signed_only, signed_secret] = Endpoint(rx.Url(), R"(["port.signed"])");
  (void)signed_secret;
  rx.SetSecrets({old_secret});  // a receiver that has not switched yet still verifies
  CreateAndSign();
  Drain();
  auto got = rx.Got();
  ASSERT_FALSE(got.empty());
  // Deliveries to the rotated endpoint carry two signatures (new and previous); the filtered
  // endpoint's carry one. Both secrets verify the rotated ones.
  int rotated_deliveries = 0;
  for (const auto& r : got) {
    if (r.signature.find(' ') == std::string::npos) {
      continue;
    }
    ++rotated_deliveries;
    EXPECT_TRUE(r.valid);
    EXPECT_TRUE(
        webhooks::Verify({new_secret}, r.id, r.timestamp, r.signature, r.body, clock_.Now()));
  }
  EXPECT_GE(rotated_deliveries, 4);  // created, signature_requested, signed, submitted
  // The filtered endpoint received only port.signed.
  auto attempts = Call(*api_, "GET", "/v1/webhooks/endpoints/" + signed_only + "/attempts", key_);
  EXPECT_EQ(Json(attempts.body).at("data").at("attempts").as_array().size(), 1u);

  // Disabled endpoints get nothing; a strict guard refuses loopback on the address used.
  ASSERT_EQ(
      Call(*api_, "PATCH", "/v1/webhooks/endpoints/" + endpoint, key_, R"({"enabled": false})")
          .status,
      200);
  webhooks::WebhookService strict(*db_, box_, clock_, net::OutboundGuard{});
  const std::size_t before = rx.Got().size();
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate",
                 NewOrgKey("org2", {"SIP"}, /*sandbox=*/true), kPort)
                .status,
            201);  // a sandbox: the same numbers are its own
  auto key3 = key_;
  const auto [guarded, guarded_secret] = Endpoint(rx.Url(), R"(["port.note_created"])");
  (void)guarded_secret;
  auto list = Call(*api_, "GET", "/v1/sip/port", key3);
  const std::string request(
      Json(list.body).at("data").at("port_requests").at(0).at("id").as_string());
  ASSERT_EQ(
      Call(*api_, "POST", "/v1/sip/port/" + request + "/notes", key3, R"({"body": "hi"})").status,
      201);
  EXPECT_EQ(strict.RunDue().value_or(-1), 1);
  EXPECT_EQ(rx.Got().size(), before);  // refused before connecting
  auto refused = Call(*api_, "GET", "/v1/webhooks/endpoints/" + guarded + "/attempts", key_);
  EXPECT_NE(refused.body.find("127.0.0.1 is a loopback address"), std::string::npos)
      << refused.body;

  // Bad input is rejected with field errors.
  auto bad = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                  R"({"url": "ftp://x", "event_types": ["nope"], "max_concurrency": 99})");
  EXPECT_EQ(bad.status, 400);
  for (const char* f : {"\"url\"", "\"event_types\"", "\"max_concurrency\""}) {
    EXPECT_NE(bad.body.find(std::string("\"field\":") + f), std::string::npos) << f << bad.body;
  }
}

// Claims respect each endpoint's max_concurrency (counting what is in flight, not what has
// finished but is unrecorded), a capped endpoint's backlog does not hold the others back, and a
// lease that runs out is claimed again.
TEST_P(WebhooksTest, ClaimsKeepEachEndpointWithinItsCapWithoutBlockingOthers) {
  Receiver rx(clock_);
  auto make = [&](int cap) {
    auto r =
        Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
             R"({"url": ")" + rx.Url() + R"(", "max_concurrency": )" + std::to_string(cap) + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(Json(r.body).at("data").at("id").as_string());
  };
  const std::string slow = make(1);
  const std::string fast = make(2);
  for (const char* last4 : {"0100", "0101", "0102"}) {
    ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", key_,
                   std::string(kPort).replace(std::string(kPort).find("0100"), 4, last4))
                  .status,
              201);
  }
  auto count = [](const std::vector<webhooks::WebhookService::Job>& jobs, const std::string& e) {
    return std::count_if(jobs.begin(), jobs.end(), [&e](const auto& j) { return j.endpoint == e; });
  };
  auto first = hooks_->Claim(10);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(count(*first, slow), 1);
  EXPECT_EQ(count(*first, fast), 2);
  EXPECT_EQ(hooks_->Claim(10)->size(), 0u);  // both at their caps
  std::string slow_delivery;
  for (const auto& j : *first) {
    if (j.endpoint == slow) {
      slow_delivery = j.delivery;
    }
  }
  // The fast endpoint's two posts have ended (not yet recorded): its slots are free again.
  auto finished = [&fast] { return std::map<std::string, std::int64_t>{{fast, 2}}; };
  auto second = hooks_->RecordAndClaim({}, 10, finished);
  ASSERT_TRUE(second);
  EXPECT_EQ(count(*second, slow), 0);
  EXPECT_EQ(count(*second, fast), 2);
  // Recording the first two frees nothing more than the unrecorded count already did.
  std::vector<webhooks::WebhookService::Outcome> done;
  for (const auto& j : *first) {
    if (j.endpoint == fast) {
      webhooks::WebhookService::Outcome o;
      o.job = j;
      o.status = 200;
      o.started = o.done = ToUnixMillis(clock_.Now());
      done.push_back(o);
    }
  }
  auto third = hooks_->RecordAndClaim(done, 10);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->size(), 0u);
  // Leases run out after the 15 s timeout + 5 s: the slow endpoint's delivery is taken again
  // (the same delivery, so the same webhook-id), still one at a time.
  clock_.Advance(std::chrono::seconds(21));
  auto again = hooks_->Claim(10);
  ASSERT_TRUE(again);
  EXPECT_EQ(count(*again, slow), 1);
  EXPECT_EQ(count(*again, fast), 2);
  for (const auto& j : *again) {
    if (j.endpoint == slow) {
      EXPECT_EQ(j.delivery, slow_delivery);
    }
  }
}

// Two nodes claiming at once (two services on one database, one thread each) never take the
// same delivery: SKIP LOCKED plus the status re-check on PostgreSQL, one writer on SQLite.
TEST_P(WebhooksTest, ConcurrentClaimsNeverTakeADeliveryTwice) {
  Receiver rx(clock_);
  auto r = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                R"({"url": ")" + rx.Url() + R"(", "max_concurrency": 20})");
  ASSERT_EQ(r.status, 201) << r.body;
  for (int i = 0; i < 8; ++i) {
    const std::string last4 = "02" + std::to_string(10 + i);
    ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", key_,
                   std::string(kPort).replace(std::string(kPort).find("0100"), 4, last4))
                  .status,
              201);
  }
  webhooks::WebhookService other(*db_, box_, clock_,
                                 *net::OutboundGuard::FromList({"127.0.0.0/8"}));
  std::mutex mu;
  std::vector<std::string> taken;
  auto node = [&](webhooks::WebhookService& service) {
    for (int round = 0; round < 50; ++round) {
      auto jobs = service.Claim(2);
      if (!jobs) {
        continue;  // e.g. SQLite busy: try again
      }
      std::lock_guard lock(mu);
      for (const auto& j : *jobs) {
        taken.push_back(j.delivery);
      }
    }
  };
  std::thread a([&] { node(*hooks_); });
  std::thread b([&] { node(other); });
  a.join();
  b.join();
  std::set<std::string> unique(taken.begin(), taken.end());
  EXPECT_EQ(unique.size(), taken.size());
  EXPECT_GE(taken.size(), 16u);  // created + signature_requested of each request, at least
}

// Endpoints that never answer hold more workers than the dispatcher has, and a healthy endpoint
// still gets its deliveries long before their posts time out: stuck posts get stand-in workers.
TEST_P(WebhooksTest, SilentEndpointsCannotTakeEveryWorker) {
  std::uint16_t silent_port = 0;
  const int silent = testing::ListenTcp("127.0.0.1", silent_port);  // accepts, never answers
  ASSERT_GE(silent, 0);
  const std::string silent_url = "http://127.0.0.1:" + std::to_string(silent_port) + "/hooks";
  for (int i = 0; i < 3; ++i) {
    auto r = Call(*api_, "POST", "/v1/webhooks/endpoints", key_,
                  R"({"url": ")" + silent_url + R"(", "max_concurrency": 2})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  Receiver rx(clock_);
  const auto [healthy, secret] = Endpoint(rx.Url());
  (void)healthy;
  (void)secret;
  CreateAndSign();  // created, signature_requested, signed, submitted: to each endpoint
  webhooks::WebhookService service(*db_, box_, clock_,
                                   *net::OutboundGuard::FromList({"127.0.0.0/8"}),
                                   {.timeout = std::chrono::seconds(8)});
  webhooks::Dispatcher dispatcher(service, 2, std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  dispatcher.Start();
  while (rx.Got().size() < 4 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(7)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(rx.Got().size(), 4u);
  // Two workers: without stand-ins the silent posts would hold both until the 8 s timeout.
  EXPECT_LT(took, 4.0);
  EXPECT_GT(dispatcher.workers(), 2);
  EXPECT_LE(dispatcher.workers(), webhooks::Dispatcher::kMaxWorkers);
  ::shutdown(silent, SHUT_RDWR);  // the silent posts fail now instead of waiting out the timeout
  ::close(silent);
  dispatcher.Stop();
}

TEST_P(WebhooksTest, CliVerifiesADelivery) {
  Receiver rx(clock_);
  const auto [endpoint, secret] = Endpoint(rx.Url(), R"(["port.signature_requested"])");
  rx.SetSecrets({secret});
  ASSERT_EQ(Call(*api_, "POST", "/v1/sip/port/initiate", key_, kPort).status, 201);
  Drain();
  ASSERT_EQ(rx.Got().size(), 1u);
  const Received r = rx.Got()[0];
  const std::string file = dir_.path() + "/body.json";
  std::ofstream(file, std::ios::binary) << r.body;
  // The fake clock is years behind: widen the tolerance so only the signature is judged.
  const std::vector<std::string> base = {"webhooks",    "verify",    "--secret",    secret,
                                         "--id",        r.id,        "--timestamp", r.timestamp,
                                         "--signature", r.signature, "--tolerance", "999999999"};
  auto args = base;
  args.push_back(file);
  auto ok = testing::RunPortline(args);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.out, "valid\n");
  std::ofstream(file, std::ios::binary) << r.body << " ";
  auto tampered = testing::RunPortline(args);
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.out.find("no webhook-signature matches"), std::string::npos);
}

// The real server: deliveries start as soon as the event commits, and a SIGKILL while a delivery
// is in flight loses nothing (the claim's lease runs out and another run delivers it).
TEST(WebhooksServer, PromptDeliveryAndSigkillInFlight) {
  SystemClock clock;
  Receiver rx(clock);
  testing::TempDir dir;
  const std::map<std::string, std::string> env = {{"PORTLINE_DATA_DIR", dir.path()},
                                                  {"PORTLINE_OUTBOUND_ALLOW", "127.0.0.0/8"},
                                                  {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  auto server = std::make_unique<testing::ServerProcess>(std::vector<std::string>{}, env);
  ASSERT_NE(server->port(), 0) << server->stderr_text();
  auto key = testing::RunPortline({"key", "create", "--org", "default"}, env);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string auth = "Bearer " + key.out.substr(0, key.out.find('\n'));
  auto created =
      testing::HttpRequest(server->port(), "POST", "/v1/webhooks/endpoints",
                           R"({"url": ")" + rx.Url() + R"(", "event_types": ["port.created"]})",
                           {{"Authorization", auth}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  rx.SetSecrets(
      {std::string(boost::json::parse(created->body).at("data").at("secret").as_string())});

  const auto start = std::chrono::steady_clock::now();
  auto port = testing::HttpRequest(server->port(), "POST", "/v1/sip/port/initiate", kPort,
                                   {{"Authorization", auth}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(port);
  ASSERT_EQ(port->status, 201) << port->body;
  while (rx.Got().empty() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(rx.Got().size(), 1u);
  EXPECT_TRUE(rx.Got()[0].valid);
  // Woken by the event, not by a poll (the idle poll is 250 ms, the workflow tick 1 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  // The receiver logs a request before answering it: wait until the server has recorded the
  // answer, or a SIGKILL below would (rightly, at-least-once) deliver this one again too.
  const std::string endpoint_id(boost::json::parse(created->body).at("data").at("id").as_string());
  bool recorded = false;
  while (!recorded && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    auto attempts = testing::HttpRequest(server->port(), "GET",
                                         "/v1/webhooks/endpoints/" + endpoint_id + "/attempts", "",
                                         {{"Authorization", auth}});
    recorded = attempts && attempts->status == 200 &&
               !boost::json::parse(attempts->body).at("data").at("attempts").as_array().empty();
    if (!recorded) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_TRUE(recorded);

  // The next delivery hangs at the receiver; the server dies with it in flight.
  rx.HangNext();
  auto second =
      testing::HttpRequest(server->port(), "POST", "/v1/sip/port/initiate",
                           std::string(kPort).replace(std::string(kPort).find("0100"), 4, "0101"),
                           {{"Authorization", auth}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 201) << second->body;
  while (rx.Got().size() < 2 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(rx.Got().size(), 2u);
  const std::string in_flight = rx.Got()[1].id;
  server->Signal(SIGKILL);
  server->Wait(std::chrono::seconds(5));
  server = std::make_unique<testing::ServerProcess>(std::vector<std::string>{}, env);
  ASSERT_NE(server->port(), 0) << server->stderr_text();
  // The claim's lease (15 s timeout + 5 s) runs out; the restarted server delivers it again.
  const auto restarted = std::chrono::steady_clock::now();
  while (rx.Got().size() < 3 &&
         std::chrono::steady_clock::now() - restarted < std::chrono::seconds(40)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string ids;
  for (const auto& r : rx.Got()) {
    ids += r.id + " ";
  }
  ASSERT_EQ(rx.Got().size(), 3u) << ids;
  EXPECT_EQ(rx.Got()[2].id, in_flight);
  EXPECT_TRUE(rx.Got()[2].valid);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhooksTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace portline
