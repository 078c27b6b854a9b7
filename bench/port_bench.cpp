// Porting benchmark: the three goals of the port-lifecycle work, on SQLite and (when
// PORTLINE_BENCH_PG_DSN is set) PostgreSQL, each beside a floor measured in the same run.
//  1. A 20,000-number request created, split into child orders and persisted (goal ≤ 1 s on
//     SQLite). Floor: inserting the same 20,000 rows, bare, in one transaction.
//  2. Workflow transitions per second (goal ≥ 5,000/s): signed requests carried through submit,
//     carrier answer, activation and post-port by RunDue in batches of 500 (on PostgreSQL in
//     shards side by side, as the server runs them), every event recorded for webhooks. Floor:
//     bare transactions of one UPDATE + one INSERT (what a transition writes at least) per
//     second. CPU per transition is reported for this process and the local PostgreSQL.
//  3. With 1,000,000 requests stored, a filtered list page (goal p99 ≤ 20 ms).
// Usage: port_bench [requests_for_list=1000000]
// Environment for experiments: PORTLINE_BENCH_SKIP_SQLITE=1 runs PostgreSQL only;
// PORT_BENCH_WORKFLOW_THREADS=N sets the workflow's shards (PortingOptions::workflow_threads).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "carriers/simulator.hpp"
#include "core/crypto.hpp"
#include "core/net_guard.hpp"
#include "core/secret_box.hpp"
#include "cpu_times.hpp"
#include "numbering/check.hpp"
#include "porting/service.hpp"
#include "store/database.hpp"
#include "webhooks/service.hpp"

namespace {
using Steady = std::chrono::steady_clock;
namespace json = boost::json;
using namespace portline;
using bench::CpuTimes;
using bench::ReadCpu;

double Ms(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A clock the benchmark moves by hand (sandbox offsets need nothing else).
class BenchClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  [[nodiscard]] std::chrono::steady_clock::time_point SteadyNow() const override {
    return Steady::now();
  }
};

void Die(const Error& e, const char* what) {
  std::fprintf(stderr, "port_bench: %s: %s %s\n", what, e.message.c_str(), e.detail.c_str());
  std::exit(1);
}
template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r) {
    Die(r.error(), what);
  }
  return std::move(*r);
}
void Must(Result<void> r, const char* what) {
  if (!r) {
    Die(r.error(), what);
  }
}

// Portable numbers of the generated LNP data: valid US NPA-NXX, any line.
std::vector<std::string> PortableNumbers(const numbering::PortabilityChecker& checker,
                                         std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  const int npas[] = {212, 213, 310, 312, 415, 512, 617, 646, 702, 718, 773, 818, 917, 972};
  while (out.size() < n) {
    std::vector<std::string> batch;
    for (int i = 0; i < 2000; ++i) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "+1%d%03d%04d", npas[rng() % std::size(npas)],
                    200 + static_cast<int>(rng() % 800), static_cast<int>(rng() % 10000));
      batch.emplace_back(buf);
    }
    const auto results = checker.Check(batch, nullptr, nullptr);
    for (const auto& r : results) {
      if (r.portable && out.size() < n) {
        out.push_back(r.phone_number);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

json::object RequestBody(const std::vector<std::string>& numbers, const std::string& ref) {
  json::array list;
  for (const auto& n : numbers) {
    list.emplace_back(n);
  }
  return json::object{{"phone_numbers", std::move(list)},
                      {"pin", "1234"},
                      {"customer_reference", ref},
                      {"losing_carrier_information",
                       json::object{{"customer_type", "business"},
                                    {"business_name", "Bench Corp"},
                                    {"first_name", "Bea"},
                                    {"last_name", "Bench"},
                                    {"account_number", "B-1"},
                                    {"authorized_representative_email", "bea@bench.example"},
                                    {"address", json::object{{"street", "1 Bench St"},
                                                             {"city", "New York"},
                                                             {"state", "NY"},
                                                             {"zip", "10001"}}}}}};
}

double Pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1))];
}

void RunBackend(const std::string& name, const std::string& url, std::size_t list_requests) {
  std::printf("\n## %s\n\n", name.c_str());
  char dir_template[] = "/tmp/portline-portbench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  store::StoreOptions opts;
  opts.data_dir = dir;
  opts.database_url = url;
  opts.pool_size = 2;
  auto db = Must(store::OpenDatabase(opts), "open");
  Must(store::Migrate(*db).map([](auto&&) {}), "migrate");
  BenchClock clock;
  accounts::Accounts accounts(*db, clock);
  auto org = Must(accounts.CreateOrg("bench-" + RandomHex(4), {"SIP"}, true), "org");
  SecretBox box(std::string(32, 'b'));
  const auto& carriers = numbering::CarrierRegistry::Default();
  static const numbering::LnpService lnp(
      std::make_shared<const numbering::LnpIndex>(numbering::LnpIndex::GenerateDefault(carriers)));
  numbering::PortabilityChecker checker(lnp, carriers, clock, {});
  carriers::SimulatedNetwork sim(*db, carriers, clock);
  Must(sim.Seed(), "seed");
  porting::PortingOptions popts;
  popts.node_id = "bench";
  popts.live_gateway = true;
  if (const char* threads = std::getenv("PORT_BENCH_WORKFLOW_THREADS"); threads != nullptr) {
    popts.workflow_threads = std::atoi(threads);
  }
  // As `portline serve` does: every event is recorded for webhooks, in its transaction, and
  // the organization has one endpoint subscribed to everything (deliveries queue up unsent).
  webhooks::WebhookService hooks(*db, box, clock,
                                 Must(net::OutboundGuard::FromList({"127.0.0.0/8"}), "guard"));
  Must(hooks
           .CreateEndpoint(org.id, json::object{{"url", "http://127.0.0.1:9/bench"},
                                                {"event_types", json::array{"*"}}})
           .map([](auto&&) {}),
       "webhook endpoint");
  // The hooks serve wires (app::Services); the post-port SIP attach is not part of what is
  // measured, so it and the validators accept everything.
  porting::PortingService::Hooks porting_hooks;
  porting_hooks.event_sink = [](store::Connection& c,
                                const std::vector<porting::EventRecord>& events) {
    std::vector<webhooks::WebhookService::NewEvent> records;
    records.reserve(events.size());
    for (const auto& e : events) {
      records.push_back({e.org_id, e.id, e.type, e.request_id, e.sequence, &e.data, e.at});
    }
    return webhooks::WebhookService::RecordAll(c, records,
                                               ToUnixMillis(std::chrono::system_clock::now()));
  };
  porting_hooks.post_port = [](std::string_view, const std::vector<std::string>&,
                               const json::object&) -> Result<void> { return {}; };
  porting_hooks.validate_post_port = [](std::string_view, const json::object&) -> Result<void> {
    return {};
  };
  porting_hooks.validate_documents =
      [](std::string_view, const std::vector<std::string>&) -> Result<void> { return {}; };
  porting::PortingService porting(*db, clock, box, checker, carriers, sim, std::move(porting_hooks),
                                  popts);
  const porting::Actor actor{org.id, "bench"};

  // 1. A 20,000-number request.
  const auto numbers = PortableNumbers(checker, 20000 * 4, 7);
  std::vector<double> create_ms;
  std::size_t orders = 0;
  for (int run = 0; run < 4; ++run) {
    std::vector<std::string> slice(numbers.begin() + run * 20000,
                                   numbers.begin() + (run + 1) * 20000);
    const auto body = RequestBody(slice, "big-" + std::to_string(run));
    const auto t0 = Steady::now();
    auto created = Must(porting.Create(actor, body), "create 20k");
    create_ms.push_back(Ms(t0, Steady::now()));
    orders = created.at("orders").as_array().size();
    if (created.at("phone_numbers").as_array().size() != 20000) {
      std::fprintf(stderr, "port_bench: expected 20000 numbers\n");
      std::exit(1);
    }
  }
  // Floor: the same number of rows, bare, one transaction, same batching.
  double floor_ms = 0;
  {
    auto lease = Must(db->Acquire(), "acquire");
    Must(lease->ExecuteScript("CREATE TABLE bench_rows (a TEXT PRIMARY KEY, b TEXT, c BIGINT)"),
         "floor table");
    std::vector<double> runs;
    for (int run = 0; run < 3; ++run) {
      const auto t0 = Steady::now();
      Must(lease->Begin(), "begin");
      for (std::size_t i = 0; i < 20000; i += 200) {
        std::string sql = "INSERT INTO bench_rows (a, b, c) VALUES ";
        store::Params params;
        std::vector<std::string> keys;
        keys.reserve(200);
        for (std::size_t k = i; k < i + 200; ++k) {
          keys.push_back(std::to_string(run) + "-" + numbers[k]);
        }
        for (std::size_t k = 0; k < 200; ++k) {
          sql += (k == 0 ? "(" : ", (") + std::string("$") + std::to_string(3 * k + 1) + ", $" +
                 std::to_string(3 * k + 2) + ", $" + std::to_string(3 * k + 3) + ")";
          params.emplace_back(keys[k]);
          params.emplace_back(numbers[i + k]);
          params.emplace_back(static_cast<std::int64_t>(k));
        }
        Must(lease->Execute(sql, params).map([](auto) {}), "floor insert");
      }
      Must(lease->Commit(), "commit");
      runs.push_back(Ms(t0, Steady::now()));
    }
    floor_ms = *std::min_element(runs.begin(), runs.end());
  }
  std::printf(
      "| 20,000-number request: create + split (%zu child orders) + persist | best %.0f ms, "
      "median %.0f ms | floor (bare insert of 20,000 rows) %.0f ms | %.1f× floor |\n",
      orders, *std::min_element(create_ms.begin(), create_ms.end()), Pct(create_ms, 50), floor_ms,
      Pct(create_ms, 50) / floor_ms);

  // 2. Workflow transitions: 1,500 signed one-or-two-number requests through their whole life.
  // The 20,000-number requests above would expire during it: 80,000 number updates in four
  // steps are bulk work, not the step rate measured here, so their steps go.
  {
    auto lease = Must(db->Acquire(), "acquire");
    Must(lease
             ->Execute("DELETE FROM port_jobs WHERE request_id IN (SELECT id FROM port_requests "
                       "WHERE org_id = $1 AND customer_reference LIKE 'big-%')",
                       {org.id})
             .map([](auto) {}),
         "drop big requests' steps");
  }
  const auto small = PortableNumbers(checker, 3000, 11);
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i + 1 < small.size(); i += 2) {
    std::vector<std::string> two(small.begin() + static_cast<std::ptrdiff_t>(i),
                                 small.begin() + static_cast<std::ptrdiff_t>(i + 2));
    auto created = porting.Create(actor, RequestBody(two, "flow-" + std::to_string(i)));
    if (!created) {
      continue;  // e.g. a number already in the big requests
    }
    const std::string url_s(created->at("signature_url").as_string());
    tokens.push_back(url_s.substr(url_s.find("/sign/") + 6));
  }
  for (const auto& t : tokens) {
    const porting::SignatureInput signer{
        .name = "Bea Bench", .consent = true, .ip = "127.0.0.1", .user_agent = "bench"};
    Must(porting.Sign(t, signer).map([](auto&&) {}), "sign");
  }
  std::int64_t steps = 0;
  double step_ms = 0;
  CpuTimes cpu;
  auto run_all = [&] {
    const auto t0 = Steady::now();
    const CpuTimes c0 = ReadCpu();
    for (;;) {
      const int ran = Must(porting.RunDue(std::nullopt, 500), "run due");
      steps += ran;
      if (ran == 0) {
        break;
      }
    }
    step_ms += Ms(t0, Steady::now());
    const CpuTimes c1 = ReadCpu();
    cpu.self_ms += c1.self_ms - c0.self_ms;
    cpu.machine_ms += c1.machine_ms - c0.machine_ms;
    cpu.postgres_ms += c1.postgres_ms - c0.postgres_ms;
  };
  auto shift = [&](std::int64_t days) {
    auto lease = Must(db->Acquire(), "acquire");
    Must(lease
             ->Execute("UPDATE organizations SET clock_offset_ms = clock_offset_ms + $1 "
                       "WHERE id = $2",
                       {days * 86400000, org.id})
             .map([](auto) {}),
         "shift");
  };
  {
    // Statistics, as autovacuum keeps them on a live system: the tables grew from nothing
    // above, and plans made for empty tables (a full scan for a key lookup) would stay.
    auto lease = Must(db->Acquire(), "acquire");
    Must(lease->ExecuteScript("ANALYZE"), "analyze");
  }
  run_all();  // submit
  shift(3);
  run_all();  // carrier answers
  shift(40);
  run_all();  // activations and post-port steps
  // Floor: bare one-UPDATE-one-INSERT transactions on the same storage.
  double floor_tps = 0;
  {
    auto lease = Must(db->Acquire(), "acquire");
    Must(lease->ExecuteScript("CREATE TABLE bench_events (id BIGINT PRIMARY KEY, v TEXT); "
                              "CREATE TABLE bench_state (id BIGINT PRIMARY KEY, n BIGINT); "
                              "INSERT INTO bench_state VALUES (1, 0)"),
         "floor tables");
    const auto t0 = Steady::now();
    const int n = 3000;
    for (int i = 0; i < n; ++i) {
      Must(lease->Begin(), "begin");
      Must(lease->Execute("UPDATE bench_state SET n = n + 1 WHERE id = 1", {}).map([](auto) {}),
           "u");
      Must(lease->Execute("INSERT INTO bench_events VALUES ($1, 'x')", {std::int64_t{i}})
               .map([](auto) {}),
           "i");
      Must(lease->Commit(), "commit");
    }
    floor_tps = n / (Ms(t0, Steady::now()) / 1000.0);
  }
  const double tps = static_cast<double>(steps) / (step_ms / 1000.0);
  std::printf(
      "| workflow transitions (%lld steps; batches of 500, on PostgreSQL in %d shards side by "
      "side) | %.0f /s | floor (bare "
      "UPDATE+INSERT transactions) %.0f /s | %.2f× floor |\n",
      static_cast<long long>(steps), popts.workflow_threads, tps, floor_tps, tps / floor_tps);
  std::printf(
      "| (CPU per transition: %.0f µs in this process, %.0f µs in local postgres processes, "
      "%.0f µs on the whole machine) | | | |\n",
      cpu.self_ms * 1000.0 / static_cast<double>(steps),
      cpu.postgres_ms * 1000.0 / static_cast<double>(steps),
      cpu.machine_ms * 1000.0 / static_cast<double>(steps));

  // 3. A filtered list page with many requests stored: rows written directly (the create path
  // is measured above), spread over statuses, references and FOC dates.
  {
    auto lease = Must(db->Acquire(), "acquire");
    static const char* kStatuses[] = {"submitted", "in_progress", "completed", "action_required",
                                      "canceled"};
    const auto t0 = Steady::now();
    const std::int64_t base = ToUnixMillis(clock.Now()) - 400LL * 86400000;
    Must(lease->Begin(), "begin");
    const std::string details =
        R"({"losing_carrier_information":{"authorized_representative_email":"a@b.example",)"
        R"("notification_emails":[]}})";
    for (std::size_t i = 0; i < list_requests; i += 100) {
      std::string sql =
          "INSERT INTO port_requests (id, org_id, status, customer_reference, details, "
          "target_date, foc_date, created_at, updated_at) VALUES ";
      std::string nsql =
          "INSERT INTO port_numbers (request_id, phone_number, org_id, position, status, active, "
          "updated_at) VALUES ";
      std::vector<std::string> keep;
      keep.reserve(500);
      store::Params params;
      store::Params nparams;
      for (std::size_t k = i; k < i + 100 && k < list_requests; ++k) {
        char id[40];
        std::snprintf(id, sizeof id, "port_bulk%012zu", k);
        char ref[24];
        std::snprintf(ref, sizeof ref, "ref-%zu", k % 50000);
        char foc[16];
        std::snprintf(foc, sizeof foc, "2026-%02zu-%02zu", 1 + k % 12, 1 + k % 28);
        char num[16];
        std::snprintf(num, sizeof num, "+1999%07zu", k);
        keep.emplace_back(id);
        const std::string& id_ref = keep.back();
        keep.emplace_back(ref);
        const std::string& ref_ref = keep.back();
        keep.emplace_back(foc);
        const std::string& foc_ref = keep.back();
        keep.emplace_back(num);
        const std::string& num_ref = keep.back();
        const std::size_t p = params.size();
        sql += (k == i ? "(" : ", (");
        for (int c = 1; c <= 8; ++c) {
          sql += "$" + std::to_string(p + static_cast<std::size_t>(c)) + ", ";
        }
        sql += "$" + std::to_string(p + 8) + ")";
        params.emplace_back(id_ref);
        params.emplace_back(org.id);
        params.emplace_back(kStatuses[k % 5]);
        params.emplace_back(ref_ref);
        params.emplace_back(details);
        params.emplace_back(foc_ref);
        params.emplace_back(foc_ref);
        params.emplace_back(base + static_cast<std::int64_t>(k) * 30000);
        const std::size_t q = nparams.size();
        nsql += (k == i ? "(" : ", (") + std::string("$") + std::to_string(q + 1) + ", $" +
                std::to_string(q + 2) + ", $" + std::to_string(q + 3) + ", 0, 'ported', 0, $" +
                std::to_string(q + 4) + ")";
        nparams.emplace_back(id_ref);
        nparams.emplace_back(num_ref);
        nparams.emplace_back(org.id);
        nparams.emplace_back(base);
      }
      Must(lease->Execute(sql, params).map([](auto) {}), "bulk requests");
      Must(lease->Execute(nsql, nparams).map([](auto) {}), "bulk numbers");
      if (i % 100000 == 0 && i > 0) {
        Must(lease->Commit(), "commit");
        Must(lease->Begin(), "begin");
      }
    }
    Must(lease->Commit(), "commit");
    if (db->backend() == store::Backend::kPostgres) {
      Must(lease->ExecuteScript("ANALYZE"), "analyze");
    } else {
      Must(lease->ExecuteScript("ANALYZE"), "analyze");
    }
    std::printf("| (loading %zu requests took %.1f s) | | | |\n", list_requests,
                Ms(t0, Steady::now()) / 1000.0);
  }
  std::mt19937 rng(5);
  std::vector<double> page_ms;
  std::vector<double> by_kind[4];
  static const char* kFilters[] = {"in_progress", "completed", "action_required"};
  for (int i = 0; i < 600; ++i) {
    porting::ListFilter f;
    switch (i % 4) {
      case 0:
        f.statuses = {kFilters[rng() % 3]};
        break;
      case 1:
        f.customer_reference = "ref-" + std::to_string(rng() % 50000);
        break;
      case 2: {
        char num[16];
        std::snprintf(num, sizeof num, "+1999%07zu",
                      static_cast<std::size_t>(rng() % list_requests));
        f.phone_number = num;
        break;
      }
      default:
        f.statuses = {"submitted"};
        f.foc_from = "2026-03-01";
        f.foc_to = "2026-03-31";
        break;
    }
    f.limit = 20;
    const auto t0 = Steady::now();
    auto page = Must(porting.List(org.id, f), "list");
    page_ms.push_back(Ms(t0, Steady::now()));
    by_kind[i % 4].push_back(page_ms.back());
    if (i % 4 == 0 && page.at("port_requests").as_array().size() != 20) {
      std::fprintf(stderr, "port_bench: short page\n");
      std::exit(1);
    }
  }
  std::printf(
      "| filtered list page, %zu requests stored (status / reference / number / FOC "
      "range) | p50 %.2f ms, p99 %.2f ms | goal p99 ≤ 20 ms | |\n",
      list_requests, Pct(page_ms, 50), Pct(page_ms, 99));
  std::printf(
      "| (p99 by filter: status %.2f ms, reference %.2f ms, number %.2f ms, status+FOC "
      "%.2f ms) | | | |\n",
      Pct(by_kind[0], 99), Pct(by_kind[1], 99), Pct(by_kind[2], 99), Pct(by_kind[3], 99));
  std::string cleanup = "rm -rf " + dir;
  (void)std::system(cleanup.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  InitCrypto();
  const std::size_t list_requests =
      argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::size_t{1000000};
  std::printf("| measure | result | floor (same run) | ratio |\n|---|---|---|---|\n");
  if (const char* skip = std::getenv("PORTLINE_BENCH_SKIP_SQLITE");
      skip == nullptr || *skip != '1') {
    RunBackend("SQLite (synchronous=full, WAL)", "", list_requests);
  }
  if (const char* pg = std::getenv("PORTLINE_BENCH_PG_DSN"); pg != nullptr && *pg != '\0') {
    RunBackend("PostgreSQL 15", pg, list_requests);
  }
  return 0;
}
