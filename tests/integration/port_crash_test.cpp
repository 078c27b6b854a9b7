// Durability of the porting workflow: the real server is SIGKILLed again and again while port
// requests are created, signed and carried to their end by the sandbox clock. Every request must
// end exactly as in an uninterrupted run: same status, same number states, and the same events
// (nothing lost, nothing applied twice). SQLite, and PostgreSQL when PORTLINE_TEST_PG_DSN is set.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace portline {
namespace {

namespace json = boost::json;

// One request of the scenario: its numbers and whether its account data is right.
struct Plan {
  std::string reference;
  std::vector<std::string> numbers;
  std::string account = "ANY-1";
  bool post_port = false;
};

std::vector<Plan> Scenario() {
  std::vector<Plan> plans;
  for (int i = 0; i < 30; ++i) {
    Plan p;
    p.reference = "crash-" + std::to_string(i);
    // Numbers no simulated account holds (accepted as submitted); every third request spans
    // two carriers, so it has two child orders.
    char buf[32];
    std::snprintf(buf, sizeof buf, "+1212555%04d", 1000 + i);
    p.numbers.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "+1212555%04d", 2000 + i);
    p.numbers.emplace_back(buf);
    if (i % 3 == 0) {
      std::snprintf(buf, sizeof buf, "+1512555%04d", 3000 + i);
      p.numbers.emplace_back(buf);
    }
    p.post_port = i % 2 == 0;
    plans.push_back(std::move(p));
  }
  // The seeded Acme account with a wrong account number: rejected, action_required.
  Plan bad;
  bad.reference = "crash-rejected";
  bad.numbers = {"+14155550100", "+14155550101", "+14155550102"};
  bad.account = "WRONG-9";
  plans.push_back(std::move(bad));
  return plans;
}

std::string Body(const Plan& p) {
  json::array numbers;
  for (const auto& n : p.numbers) {
    numbers.emplace_back(n);
  }
  json::object body{{"phone_numbers", std::move(numbers)},
                    {"customer_reference", p.reference},
                    {"pin", "1234"},
                    {"losing_carrier_information",
                     json::object{{"customer_type", "business"},
                                  {"business_name", "Acme Corp"},
                                  {"first_name", "Jane"},
                                  {"last_name", "Doe"},
                                  {"account_number", p.account},
                                  {"authorized_representative_email", "jane@acme.example"},
                                  {"address", json::object{{"street", "123 Main Street"},
                                                           {"city", "San Francisco"},
                                                           {"state", "CA"},
                                                           {"zip", "94105"}}}}}};
  if (p.post_port) {
    body["post_port"] = json::object{
        {"service", "sip"}, {"directions", json::array{json::object{{"type", "inbound"}}}}};
  }
  return json::serialize(body);
}

// A server that may be killed at any moment, restarted on demand by the request loop.
class Harness {
 public:
  Harness(std::map<std::string, std::string> env, bool chaos)
      : env_(std::move(env)), chaos_(chaos) {
    Start();
    auto key = testing::RunPortline({"key", "create", "--org", "default"}, env_);
    EXPECT_EQ(key.exit_code, 0) << key.err;
    key_ = key.out.substr(0, key.out.find('\n'));
    if (chaos_) {
      killer_ = std::thread([this] { KillLoop(); });
    }
  }
  ~Harness() {
    stop_ = true;
    if (killer_.joinable()) {
      killer_.join();
    }
  }
  void StopChaos() {
    stop_ = true;
    if (killer_.joinable()) {
      killer_.join();
    }
  }
  int kills() const { return kills_.load(); }
  // SIGKILLs the server now; the next Send starts it again.
  void Kill() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (server_) {
      server_->Signal(SIGKILL);
      ++kills_;
    }
  }
  // One attempt, no retry (nullopt when the connection was cut).
  std::optional<testing::HttpResponse> SendOnce(const std::string& method,
                                                const std::string& target, const std::string& body,
                                                const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + key_},
                                               {"Content-Type", "application/json"}};
    headers.insert(extra.begin(), extra.end());
    return testing::HttpRequest(Port(), method, target, body, headers);
  }

  // Sends a request until it gets an answer, restarting the server after each crash. `ok`
  // decides whether an answer is final (e.g. 5xx during a crash is not).
  testing::HttpResponse Send(const std::string& method, const std::string& target,
                             const std::string& body = {}, const std::string& content_type = {},
                             const std::map<std::string, std::string>& extra = {}) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::map<std::string, std::string> headers{{"Authorization", "Bearer " + key_}};
      headers.insert(extra.begin(), extra.end());
      if (!body.empty()) {
        headers["Content-Type"] = content_type.empty() ? "application/json" : content_type;
      }
      auto r = testing::HttpRequest(Port(), method, target, body, headers);
      if (r && r->status < 500) {
        return *r;
      }
      Restart();
    }
    ADD_FAILURE() << "no answer for " << method << " " << target;
    return {};
  }

 private:
  std::uint16_t Port() {
    std::lock_guard<std::mutex> lock(mutex_);
    return server_ ? server_->port() : 0;
  }
  void Start() {
    std::lock_guard<std::mutex> lock(mutex_);
    server_ = std::make_unique<testing::ServerProcess>(
        std::vector<std::string>{"--log-level", "warn"}, env_);
    ASSERT_NE(server_->port(), 0) << server_->stderr_text();
    ++generation_;
  }
  void Restart() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (server_) {
        server_->Signal(SIGKILL);
        (void)server_->Wait(std::chrono::seconds(10));
        server_.reset();
      }
    }
    Start();
  }
  // Kills the server a random 20–250 ms after it started serving, again and again.
  void KillLoop() {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> wait_ms(20, 250);
    while (!stop_) {
      const int generation = generation_.load();
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng)));
      std::lock_guard<std::mutex> lock(mutex_);
      if (server_ && !stop_ && generation_.load() == generation) {
        server_->Signal(SIGKILL);
        ++kills_;
      }
      while (!stop_ && generation_.load() == generation) {
        mutex_.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        mutex_.lock();
      }
    }
  }

  std::map<std::string, std::string> env_;
  bool chaos_;
  std::string key_;
  std::mutex mutex_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::thread killer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> kills_{0};
  std::atomic<int> generation_{0};
};

// What a request ended as: status, numbers and the multiset of its event types.
using Summary = std::map<std::string, std::string>;

Summary RunScenario(Harness& h) {
  const auto plans = Scenario();
  std::map<std::string, std::string> ids;  // reference → id
  for (const auto& p : plans) {
    // Create; after a crash the request may or may not exist: look it up before retrying.
    for (int attempt = 0; attempt < 50 && ids.count(p.reference) == 0; ++attempt) {
      auto found = h.Send("GET", "/v1/sip/port?customer_reference=" + p.reference);
      const auto list = json::parse(found.body).at("data").at("port_requests").as_array();
      if (!list.empty()) {
        ids[p.reference] = std::string(list.at(0).at("id").as_string());
        break;
      }
      auto created = h.Send("POST", "/v1/sip/port/initiate", Body(p));
      if (created.status == 201) {
        ids[p.reference] =
            std::string(json::parse(created.body).at("data").at("port_request_id").as_string());
      } else if (created.status != 409) {  // 409: a retried create that had committed
        ADD_FAILURE() << created.status << " " << created.body;
      }
    }
    EXPECT_EQ(ids.count(p.reference), 1U) << p.reference;
    // Sign: a retry after a crash may find it signed already (409).
    const auto view = json::parse(h.Send("GET", "/v1/sip/port/" + ids[p.reference]).body);
    const auto& url = view.at("data").at("signature_url");
    if (url.is_string()) {
      const std::string s(url.as_string());
      const auto sign = h.Send("POST", s.substr(s.find("/sign/")), "name=Jane+Doe&consent=yes",
                               "application/x-www-form-urlencoded");
      EXPECT_TRUE(sign.status == 200 || sign.status == 409) << sign.status << sign.body;
    }
  }
  // Carry everything to its end: absolute targets make retried advances idempotent.
  const auto clock = json::parse(h.Send("GET", "/v1/sandbox/clock").body);
  const std::string start(clock.at("data").at("now").as_string());
  const auto start_s = std::stoll(start.substr(0, 4));  // sanity only
  EXPECT_GT(start_s, 2000);
  std::int64_t offset_h = 0;
  auto to_rfc3339 = [&start](std::int64_t hours) {
    // Parse the start as a sys_days + time, add hours, print back.
    std::tm tm{};
    strptime(start.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    const auto t = timegm(&tm) + hours * 3600;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return std::string(buf);
  };
  for (offset_h = 1; offset_h <= 40 * 24; ++offset_h) {
    const auto r =
        h.Send("POST", "/v1/sandbox/clock/advance", R"({"to": ")" + to_rfc3339(offset_h) + R"("})");
    EXPECT_TRUE(r.status == 200 || r.status == 400) << r.status << " " << r.body;  // 400: retry
  }
  // A step a killed node had claimed runs again once its lease expires: wait for none to be due.
  for (int i = 0; i < 300; ++i) {
    const auto c = json::parse(h.Send("GET", "/v1/sandbox/clock").body);
    if (c.at("data").at("due_steps").as_int64() == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Summary out;
  for (const auto& [ref, id] : ids) {
    const auto view = json::parse(h.Send("GET", "/v1/sip/port/" + id).body).at("data");
    std::string s = std::string(view.at("status").as_string()) + " |";
    for (const auto& n : view.at("phone_numbers").as_array()) {
      s += " " + std::string(n.at("number").as_string()) + "=" +
           std::string(n.at("status").as_string());
    }
    const auto events =
        json::parse(h.Send("GET", "/v1/sip/port/" + id + "/events?limit=1000").body).at("data");
    std::map<std::string, int> counts;
    std::int64_t expect_seq = 1;
    for (const auto& e : events.at("events").as_array()) {
      ++counts[std::string(e.at("type").as_string())];
      EXPECT_EQ(e.at("sequence").as_int64(), expect_seq++) << ref;
    }
    s += " |";
    for (const auto& [type, n] : counts) {
      s += " " + type + "x" + std::to_string(n);
    }
    out[ref] = s;
  }
  return out;
}

void Compare(std::map<std::string, std::string> env_base, const std::string& name) {
  testing::TempDir calm_dir;
  testing::TempDir chaos_dir;
  auto calm_env = env_base;
  auto chaos_env = env_base;
  calm_env["PORTLINE_DATA_DIR"] = calm_dir.path();
  chaos_env["PORTLINE_DATA_DIR"] = chaos_dir.path();
  if (env_base.count("PORTLINE_DATABASE_URL") != 0) {
    calm_env["PORTLINE_DATABASE_URL"] = testing::FreshPgDatabase();
    chaos_env["PORTLINE_DATABASE_URL"] = testing::FreshPgDatabase();
  }
  Summary reference;
  {
    Harness calm(calm_env, false);
    reference = RunScenario(calm);
  }
  Summary chaotic;
  int kills = 0;
  {
    Harness chaos(chaos_env, true);
    chaotic = RunScenario(chaos);
    chaos.StopChaos();
    kills = chaos.kills();
  }
  EXPECT_GE(kills, 5) << "the run should have been interrupted many times";
  ASSERT_EQ(reference.size(), chaotic.size());
  for (const auto& [ref, summary] : reference) {
    EXPECT_EQ(chaotic[ref], summary) << name << " " << ref;
  }
  // The uninterrupted run itself reached the expected ends.
  EXPECT_EQ(reference["crash-0"].substr(0, 9), "completed") << reference["crash-0"];
  EXPECT_EQ(reference["crash-rejected"].substr(0, 15), "action_required")
      << reference["crash-rejected"];
  std::printf("%s: %d SIGKILLs during the run\n", name.c_str(), kills);
}

TEST(PortCrash, SqliteEndsAsWithoutCrashes) {
  Compare({{"PORTLINE_WORKER_INTERVAL_MS", "20"},
           {"PORTLINE_STEP_LEASE_MS", "1500"},
           {"PORTLINE_ACCESS_LOG", "false"},
           {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}},
          "sqlite");
}

// Two `portline serve` processes on one PostgreSQL database: both run the workflow (the second
// one polls every 10 ms while the first also advances the clock through the API), and every request
// must end exactly as with one node, each transition applied once.
TEST(PortCrash, TwoNodesOnOnePostgresEndAsOne) {
  PORTLINE_REQUIRE_PG_OR_SKIP();
  const std::map<std::string, std::string> base = {{"PORTLINE_WORKER_INTERVAL_MS", "10"},
                                                   {"PORTLINE_ACCESS_LOG", "false"},
                                                   {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"}};
  testing::TempDir one_dir;
  testing::TempDir two_dir;
  auto one_env = base;
  one_env["PORTLINE_DATA_DIR"] = one_dir.path();
  one_env["PORTLINE_DATABASE_URL"] = testing::FreshPgDatabase();
  auto two_env = base;
  two_env["PORTLINE_DATA_DIR"] = two_dir.path();
  two_env["PORTLINE_DATABASE_URL"] = testing::FreshPgDatabase();
  Summary single;
  {
    Harness node(one_env, false);
    single = RunScenario(node);
  }
  Summary pair;
  {
    Harness node_a(two_env, false);
    testing::ServerProcess node_b({"--log-level", "debug"}, two_env);
    ASSERT_NE(node_b.port(), 0) << node_b.stderr_text();
    pair = RunScenario(node_a);
    const std::string b_log = node_b.stderr_text();
    EXPECT_EQ(b_log.find("\"level\":\"error\""), std::string::npos) << b_log;
    EXPECT_NE(b_log.find("\"msg\":\"workflow batch\""), std::string::npos)
        << "the second node should have applied steps too";
  }
  ASSERT_EQ(single.size(), pair.size());
  for (const auto& [ref, summary] : single) {
    EXPECT_EQ(pair[ref], summary) << ref;
  }
}

TEST(PortCrash, PostgresEndsAsWithoutCrashes) {
  PORTLINE_REQUIRE_PG_OR_SKIP();
  Compare({{"PORTLINE_WORKER_INTERVAL_MS", "20"},
           {"PORTLINE_STEP_LEASE_MS", "1500"},
           {"PORTLINE_ACCESS_LOG", "false"},
           {"PORTLINE_RATE_LIMIT_PER_SECOND", "0"},
           {"PORTLINE_DATABASE_URL", "set per run"}},
          "postgres");
}

// POSTs cut off by a SIGKILL at a random instant of their handling, then retried with their
// Idempotency-Key: each key creates exactly one request (the key, the request and the stored
// response commit together, or none does), and the retry answers 201 with that request.
void IdempotentRetries(std::map<std::string, std::string> env) {
  testing::TempDir dir;
  env["PORTLINE_DATA_DIR"] = dir.path();
  env["PORTLINE_ACCESS_LOG"] = "false";
  env["PORTLINE_RATE_LIMIT_PER_SECOND"] = "0";
  Harness h(env, /*chaos=*/false);
  constexpr int kRequests = 30;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_us(0, 6000);
  std::map<std::string, std::string> created;  // reference → id answered
  int cut_off = 0;
  for (int i = 0; i < kRequests; ++i) {
    Plan p;
    p.reference = "idem-" + std::to_string(i);
    p.numbers = {"+1212555" + std::to_string(6000 + i)};
    const std::map<std::string, std::string> key{{"Idempotency-Key", "key-" + p.reference}};
    std::optional<testing::HttpResponse> first;
    std::thread post([&] { first = h.SendOnce("POST", "/v1/sip/port/initiate", Body(p), key); });
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    h.Kill();
    post.join();
    cut_off += first ? 0 : 1;
    // Send retries (restarting the server) until it has an answer, with the same key.
    auto r = h.Send("POST", "/v1/sip/port/initiate", Body(p), {}, key);
    ASSERT_EQ(r.status, 201) << p.reference << ": " << r.body;
    created[p.reference] =
        std::string(json::parse(r.body).at("data").at("port_request_id").as_string());
    if (first && first->status == 201) {
      EXPECT_NE(first->body.find(created[p.reference]), std::string::npos)
          << "the answer before the kill and the replay name one request";
    }
  }
  EXPECT_GE(cut_off, 3) << "the kills should cut POSTs off";
  int duplicates = 0;
  for (const auto& [ref, id] : created) {
    auto list = json::parse(h.Send("GET", "/v1/sip/port?customer_reference=" + ref).body);
    const auto& found = list.at("data").at("port_requests").as_array();
    EXPECT_EQ(found.size(), 1U) << ref;
    duplicates += found.size() > 1 ? static_cast<int>(found.size()) - 1 : 0;
    if (!found.empty()) {
      EXPECT_EQ(found.at(0).at("id").as_string(), id) << ref;
    }
  }
  EXPECT_EQ(duplicates, 0) << "over " << h.kills() << " kills, " << cut_off << " cut off";
}

TEST(PortCrash, IdempotentRetriesNeverDuplicateOnSqlite) { IdempotentRetries({}); }

TEST(PortCrash, IdempotentRetriesNeverDuplicateOnPostgres) {
  PORTLINE_REQUIRE_PG_OR_SKIP();
  IdempotentRetries({{"PORTLINE_DATABASE_URL", testing::FreshPgDatabase()}});
}

}  // namespace
}  // namespace portline
