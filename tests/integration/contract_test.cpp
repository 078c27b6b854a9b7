// One contract suite, run against SQLite and PostgreSQL: the storage adapters, migrations,
// accounts, idempotency records and the API pipeline on top of them must behave identically.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <deque>
#include <thread>

#include "accounts/accounts.hpp"
#include "api/api.hpp"
#include "api/json.hpp"
#include "core/crypto.hpp"
#include "store/database.hpp"
#include "support/backend_fixture.hpp"

namespace portline {
namespace {

class Contract : public testing::BackendTest {};

TEST_P(Contract, MigrationsAreIdempotentAndRecorded) {
  auto again = store::Migrate(*db_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto rows = (*lease)->Query("SELECT MAX(version) FROM schema_migrations", {});
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].Int(0), store::LatestSchemaVersion());
}

TEST_P(Contract, ParamsRoundTripIncludingNullAndUtf8) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto& c = **lease;
  ASSERT_TRUE(c.ExecuteScript("CREATE TABLE t (a TEXT, b BIGINT, c TEXT)"));
  const std::string text = "Zoë \xE2\x9C\x93 'quoted' $1";
  ASSERT_TRUE(c.Execute("INSERT INTO t (a, b, c) VALUES ($1, $2, $3)",
                        {text, std::int64_t{9007199254740993}, nullptr}));
  auto rows = c.Query("SELECT a, b, c FROM t WHERE b = $1", {std::int64_t{9007199254740993}});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].Text(0), text);
  EXPECT_EQ((*rows)[0].Int(1), 9007199254740993);
  EXPECT_TRUE((*rows)[0].IsNull(2));
}

TEST_P(Contract, ManyRowStatementsAndAnyMatches) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto& c = **lease;
  ASSERT_TRUE(c.ExecuteScript("CREATE TABLE m (id TEXT PRIMARY KEY, n BIGINT, note TEXT)"));
  // 1,500 rows of 3 columns: two chunks (4,000 parameters at most each), the second padded
  // with all-NULL rows that the SELECT form skips.
  std::deque<std::string> keep;
  store::Params rows;
  for (std::int64_t i = 0; i < 1500; ++i) {
    rows.insert(rows.end(), {keep.emplace_back("id-" + std::to_string(i)), i,
                             i % 2 == 0 ? store::Param(nullptr) : store::Param("odd")});
  }
  auto inserted = store::ExecuteRows(c, "INSERT INTO m (id, n, note) SELECT * FROM (VALUES ",
                                     ") AS v WHERE v.column1 IS NOT NULL", {"", "BIGINT", "TEXT"},
                                     rows, /*pad_with_nulls=*/true);
  ASSERT_TRUE(inserted) << inserted.error().detail;
  EXPECT_EQ(*inserted, 1500);
  // UPDATE … FROM (VALUES …): a padded row (NULL key) matches nothing.
  store::Params changes{"id-1",           std::int64_t{-1}, "id-2",
                        std::int64_t{-2}, "missing",        std::int64_t{-3}};
  auto updated = store::ExecuteRows(c, "UPDATE m AS t SET n = v.column2 FROM (VALUES ",
                                    ") AS v WHERE t.id = v.column1", {"", "BIGINT"}, changes, true);
  ASSERT_TRUE(updated) << updated.error().detail;
  EXPECT_EQ(*updated, 2);
  // MatchAny: values with quotes and backslashes survive PostgreSQL's array literal.
  ASSERT_TRUE(
      c.Execute("INSERT INTO m (id, n) VALUES ($1, 1), ($2, 2)", {R"(we"ird\id)", "plain,id"}));
  store::Params params{std::int64_t{0}};
  const std::string match =
      store::MatchAny(c.backend(), "id", params, {R"(we"ird\id)", "plain,id", "id-1", "absent"});
  auto found = c.Query("SELECT id, n FROM m WHERE n <> $1 AND " + match + " ORDER BY id", params);
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_EQ(found->size(), 3U);
  EXPECT_EQ((*found)[0].Text(0), "id-1");
  EXPECT_EQ((*found)[0].Int(1), -1);
  EXPECT_EQ((*found)[1].Text(0), "plain,id");
  EXPECT_EQ((*found)[2].Text(0), R"(we"ird\id)");
  auto odd = c.Query("SELECT COUNT(*) FROM m WHERE note = 'odd'", {});
  ASSERT_TRUE(odd);
  EXPECT_EQ((*odd)[0].Int(0), 750);
  // A parameter owns its text: the strings it was made from are gone before the statement
  // runs (long enough to live on the heap, so a borrowed view would read freed memory).
  store::Params owned;
  owned.emplace_back(std::string(64, 'x'));
  owned.emplace_back(std::string(80, 'y'));
  ASSERT_TRUE(c.Execute("INSERT INTO m (id, n, note) VALUES ($1, -5000, $2)", owned));
  auto kept = c.Query("SELECT id, note FROM m WHERE n = -5000", {});
  ASSERT_TRUE(kept && kept->size() == 1U);
  EXPECT_EQ((*kept)[0].Text(0), std::string(64, 'x'));
  EXPECT_EQ((*kept)[0].Text(1), std::string(80, 'y'));
}

TEST_P(Contract, PipelinesAnswerInOrderAndStopAtTheFirstError) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto& c = **lease;
  ASSERT_TRUE(c.ExecuteScript("CREATE TABLE p (k TEXT PRIMARY KEY, n BIGINT)"));
  // Inside a transaction (whose BEGIN rides with the first pipeline on PostgreSQL): writes, a
  // read that sees them, the same new statement twice (prepared once), RETURNING.
  auto ok = store::WithTransaction(c, [](store::Connection& t) -> Result<std::vector<store::Rows>> {
    return t.Pipeline({{"INSERT INTO p (k, n) VALUES ($1, $2)", {"a", std::int64_t{1}}},
                       {"INSERT INTO p (k, n) VALUES ($1, $2)", {"b", std::int64_t{2}}},
                       {"UPDATE p SET n = n * 10 WHERE k = $1 RETURNING n", {"b"}},
                       {"SELECT k, n FROM p ORDER BY k", {}}});
  });
  ASSERT_TRUE(ok) << ok.error().detail;
  ASSERT_EQ(ok->size(), 4U);
  EXPECT_TRUE((*ok)[0].empty());
  ASSERT_EQ((*ok)[2].size(), 1U);
  EXPECT_EQ((*ok)[2][0].Int(0), 20);
  ASSERT_EQ((*ok)[3].size(), 2U);
  EXPECT_EQ((*ok)[3][1].Text(0), "b");
  EXPECT_EQ((*ok)[3][1].Int(1), 20);
  // A conflict in the middle: its error comes back, nothing after it runs, and the
  // transaction's earlier writes roll back.
  auto failed =
      store::WithTransaction(c, [](store::Connection& t) -> Result<std::vector<store::Rows>> {
        return t.Pipeline({{"INSERT INTO p (k, n) VALUES ($1, $2)", {"c", std::int64_t{3}}},
                           {"INSERT INTO p (k, n) VALUES ($1, $2)", {"a", std::int64_t{4}}},
                           {"INSERT INTO p (k, n) VALUES ($1, $2)", {"d", std::int64_t{5}}}});
      });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::kConflict);
  // A statement that does not parse fails alone; the connection stays usable.
  auto bad = c.Pipeline({{"SELECT n FROM p WHERE k = $1", {"a"}}, {"SELEC nonsense", {}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInternal);
  auto rows = c.Query("SELECT k FROM p ORDER BY k", {});
  ASSERT_TRUE(rows) << rows.error().detail;
  ASSERT_EQ(rows->size(), 2U);
  EXPECT_EQ((*rows)[1].Text(0), "b");
  // A transaction that runs nothing commits; one that runs only a script commits that script.
  ASSERT_TRUE(c.Begin());
  ASSERT_TRUE(c.Commit());
  ASSERT_TRUE(c.Begin());
  ASSERT_TRUE(c.ExecuteScript("INSERT INTO p (k, n) VALUES ('e', 6)"));
  ASSERT_TRUE(c.Commit());
  auto all = c.Query("SELECT COUNT(*) FROM p", {});
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)[0].Int(0), 3);
}

TEST_P(Contract, StatementCacheStaysCorrectPastItsBound) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  // More distinct statements than a connection caches (256), then the first ones again, inside
  // and outside a transaction: every answer stays right after evictions.
  for (int round = 0; round < 2; ++round) {
    for (std::int64_t i = 0; i < 300; ++i) {
      auto rows = (*lease)->Query("SELECT " + std::to_string(i) + " + $1", {std::int64_t{1}});
      ASSERT_TRUE(rows) << rows.error().detail;
      ASSERT_EQ(rows->at(0).Int(0), i + 1);
    }
  }
  ASSERT_TRUE((*lease)->Begin());
  for (std::int64_t i = 300; i < 600; ++i) {
    auto rows = (*lease)->Query("SELECT " + std::to_string(i) + " + $1", {std::int64_t{2}});
    ASSERT_TRUE(rows) << rows.error().detail;
    ASSERT_EQ(rows->at(0).Int(0), i + 2);
  }
  ASSERT_TRUE((*lease)->Commit());
}

TEST_P(Contract, UniqueViolationIsConflictAndTransactionRollsBack) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto& c = **lease;
  ASSERT_TRUE(c.ExecuteScript("CREATE TABLE u (k TEXT PRIMARY KEY)"));
  ASSERT_TRUE(c.Execute("INSERT INTO u (k) VALUES ($1)", {"a"}));
  auto dup = c.Execute("INSERT INTO u (k) VALUES ($1)", {"a"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::kConflict);

  auto tx = store::WithTransaction(c, [](store::Connection& t) -> Result<int> {
    PORTLINE_RETURN_IF_ERROR(t.Execute("INSERT INTO u (k) VALUES ($1)", {"b"}));
    return Fail(Errc::kInvalidArgument, "abort");
  });
  EXPECT_FALSE(tx);
  auto rows = c.Query("SELECT COUNT(*) FROM u", {});
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].Int(0), 1);  // "b" rolled back
}

TEST_P(Contract, SyntaxErrorIsInternalWithDetail) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  auto r = (*lease)->Query("SELEC 1", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInternal);
  EXPECT_FALSE(r.error().detail.empty());
  EXPECT_TRUE(db_->Ping());  // the connection is still usable
}

// Every PostgreSQL connection gets deadlines unless the URL sets its own (the PostgreSQL runs
// of this suite connect with them, so libpq accepts every one).
TEST(StoreOptionsTest, PostgresUrlsGetConnectionDeadlines) {
  const std::string plain = store::WithConnectionDefaults("postgres://u@h/db");
  for (const char* want :
       {"?connect_timeout=5", "&keepalives=1", "&keepalives_idle=30", "&keepalives_interval=10",
        "&keepalives_count=3", "&tcp_user_timeout=30000"}) {
    EXPECT_NE(plain.find(want), std::string::npos) << want << " in " << plain;
  }
  const std::string own =
      store::WithConnectionDefaults("postgres://u@h/db?sslmode=require&tcp_user_timeout=5000");
  EXPECT_NE(own.find("?sslmode=require&tcp_user_timeout=5000&connect_timeout=5"), std::string::npos)
      << own;
  EXPECT_EQ(own.find("tcp_user_timeout=30000"), std::string::npos) << own;
}

TEST_P(Contract, PoolHandsOutEachConnectionOnce) {
  auto a = db_->Acquire();
  auto b = db_->Acquire();
  auto c = db_->Acquire();
  ASSERT_TRUE(a && b && c);
  auto d = db_->Acquire(std::chrono::milliseconds(50));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kUnavailable);
}

TEST_P(Contract, OrganizationsAndEntitlements) {
  auto org = accounts_->CreateOrg("Acme Corp", {"SIP"});
  ASSERT_TRUE(org) << org.error().message;
  EXPECT_TRUE(IsWellFormedId(org->id, "org"));
  EXPECT_TRUE(org->Has("SIP"));

  auto dup = accounts_->CreateOrg("Acme Corp", {});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::kConflict);

  auto bad = accounts_->CreateOrg("x", {"TELEPORT"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);

  auto revoked = accounts_->SetEntitlement(org->id, "SIP", false);
  ASSERT_TRUE(revoked);
  EXPECT_FALSE(revoked->Has("SIP"));
  auto by_name = accounts_->FindOrg("Acme Corp");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->id, org->id);
  EXPECT_EQ(accounts_->FindOrg("nope").error().code, Errc::kNotFound);

  auto d1 = accounts_->EnsureDefaultOrg("default");
  auto d2 = accounts_->EnsureDefaultOrg("default");
  ASSERT_TRUE(d1 && d2);
  EXPECT_EQ(d1->id, d2->id);
  EXPECT_TRUE(d1->Has("SIP"));
}

TEST_P(Contract, KeysAreStoredHashedAndRevocable) {
  auto org = accounts_->CreateOrg("a", {});
  ASSERT_TRUE(org);
  auto key = accounts_->CreateKey(org->id, "ci");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->secret.size(), accounts::kKeySecretLength);

  {  // The secret appears nowhere in storage; its SHA-256 does.
    auto lease = db_->Acquire();
    ASSERT_TRUE(lease);
    auto rows = (*lease)->Query("SELECT key_hash, prefix FROM api_keys", {});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 1U);
    EXPECT_EQ((*rows)[0].Text(0), Sha256Hex(key->secret));
    EXPECT_NE((*rows)[0].Text(0).find(key->secret), 0U);
  }

  auto who = accounts_->Authenticate(key->secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->org_id, org->id);
  auto listed = accounts_->GetKey(org->id, key->key.id);
  ASSERT_TRUE(listed);
  ASSERT_TRUE(listed->last_used_at.has_value());

  ASSERT_TRUE(accounts_->RevokeKey(org->id, key->key.id));
  auto after = accounts_->Authenticate(key->secret);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Errc::kUnauthenticated);

  auto wrong = accounts_->Authenticate(std::string("pl_") + std::string(48, 'a'));
  EXPECT_EQ(wrong.error().code, Errc::kUnauthenticated);
}

namespace {
using Stored = api::IdempotencyStore::Stored;
api::IdempotencyStore::Options IdemOptions(std::size_t max_stored = 256 * 1024) {
  return {std::chrono::hours(24), max_stored};
}
}  // namespace

TEST_P(Contract, IdempotencyReplayConflictAndExpiry) {
  api::IdempotencyStore idem(*db_, clock_, IdemOptions());
  int runs = 0;
  auto created = [&] {
    ++runs;
    return std::optional<Stored>({201, R"({"data":1})"});
  };
  auto first = idem.Run("org_a", "k1", "h1", created);
  ASSERT_TRUE(first);
  EXPECT_FALSE(*first);
  auto replay = idem.Run("org_a", "k1", "h1", created);
  ASSERT_TRUE(replay);
  ASSERT_TRUE(*replay);
  EXPECT_EQ((*replay)->status, 201);
  EXPECT_EQ((*replay)->body, R"({"data":1})");
  EXPECT_EQ(runs, 1);

  auto other_body = idem.Run("org_a", "k1", "h2", created);
  ASSERT_FALSE(other_body);
  EXPECT_EQ(other_body.error().api_code, "IDEMPOTENCY_KEY_REUSED");

  auto other_org = idem.Run("org_b", "k1", "h2", created);  // keys are per organization
  ASSERT_TRUE(other_org);
  EXPECT_FALSE(*other_org);
  EXPECT_EQ(runs, 2);

  clock_.Advance(std::chrono::hours(25));
  auto expired = idem.Run("org_a", "k1", "h2", created);
  ASSERT_TRUE(expired);
  EXPECT_FALSE(*expired);
  EXPECT_EQ(runs, 3);
  auto purged = idem.Purge();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);  // org_b's record; org_a's was claimed again just now
}

// What the handler writes, the key and the stored response commit together: a server error
// keeps none (the key runs again), a success keeps all, and a response too big to keep keeps
// only its size and digest.
TEST_P(Contract, IdempotentRunsCommitWritesAndResponseTogether) {
  api::IdempotencyStore idem(*db_, clock_, IdemOptions(/*max_stored=*/64));
  auto insert = [&](const std::string& id) {
    // The handler takes its own lease and transaction, as services do: both join the run's.
    auto lease = db_->Acquire(std::chrono::milliseconds(500));
    EXPECT_TRUE(lease);
    auto done = store::WithTransaction(**lease, [&](store::Connection& c) {
      return c.Execute("INSERT INTO organizations (id, name, created_at) VALUES ($1, $1, 0)", {id});
    });
    EXPECT_TRUE(done);
  };
  auto count = [&](const std::string& id) {
    auto rows = (*db_->Acquire())->Query("SELECT COUNT(*) FROM organizations WHERE id = $1", {id});
    return rows ? (*rows)[0].Int(0) : -1;
  };
  ASSERT_TRUE(idem.Run("o", "fails", "h", [&] {
    insert("org_fail");
    return std::optional<Stored>();  // a 5xx
  }));
  EXPECT_EQ(count("org_fail"), 0);
  int runs = 0;
  auto ok = [&] {
    ++runs;
    insert("org_ok");
    return std::optional<Stored>({201, "{\"data\":{}}"});
  };
  ASSERT_TRUE(idem.Run("o", "fails", "h", ok));  // the failed key runs again
  ASSERT_TRUE(idem.Run("o", "fails", "h", ok));  // and then replays
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(count("org_ok"), 1);

  const std::string body(1000, 'x');
  ASSERT_TRUE(idem.Run("o", "big", "h", [&] { return std::optional<Stored>({200, body}); }));
  auto replay = idem.Run("o", "big", "h", [] { return std::optional<Stored>({500, ""}); });
  ASSERT_TRUE(replay);
  ASSERT_TRUE(*replay);
  EXPECT_FALSE((*replay)->kept);
  EXPECT_EQ((*replay)->size, 1000);
  EXPECT_EQ((*replay)->sha256, Sha256Hex(body));
  auto stored =
      (*db_->Acquire())
          ->Query("SELECT response_body FROM idempotency_keys WHERE idem_key = 'big'", {});
  ASSERT_TRUE(stored);
  EXPECT_TRUE((*stored)[0].IsNull(0)) << "a body over the limit is not stored";
}

// What an organization's records weigh is capped: past the cap a new key is refused before its
// handler runs, replays still work, other organizations are unaffected, and a purge frees room.
TEST_P(Contract, IdempotencyStorageIsCappedPerOrganization) {
  api::IdempotencyStore::Options o = IdemOptions();
  o.max_bytes_per_org = 4 * (api::IdempotencyStore::kRecordBytes + 1000);
  api::IdempotencyStore idem(*db_, clock_, o);
  const std::string body(1000, 'x');
  int runs = 0;
  auto run = [&] {
    ++runs;
    return std::optional<Stored>({201, body});
  };
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(idem.Run("org_a", "k" + std::to_string(i), "h", run));
  }
  auto full = idem.Run("org_a", "k4", "h", run);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::kRateLimited);
  EXPECT_EQ(full.error().api_code, "IDEMPOTENCY_STORAGE_FULL");
  EXPECT_EQ(runs, 4) << "refused before the handler ran";
  auto replay = idem.Run("org_a", "k0", "h", run);  // what is stored still replays
  ASSERT_TRUE(replay);
  ASSERT_TRUE(*replay);
  EXPECT_TRUE(idem.Run("org_b", "k4", "h", run));  // another organization has its own room
  EXPECT_EQ(runs, 5);
  auto usage =
      (*db_->Acquire())->Query("SELECT bytes FROM idempotency_usage WHERE org_id = 'org_a'", {});
  ASSERT_TRUE(usage);
  EXPECT_EQ((*usage)[0].Int(0), 4 * (api::IdempotencyStore::kRecordBytes + 1000));

  clock_.Advance(std::chrono::hours(25));
  auto purged = idem.Purge();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 5);
  usage = (*db_->Acquire())->Query("SELECT bytes FROM idempotency_usage ORDER BY org_id", {});
  ASSERT_TRUE(usage);
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].Int(0), 0);
  EXPECT_EQ((*usage)[1].Int(0), 0);
  EXPECT_TRUE(idem.Run("org_a", "k4", "h", run));
  EXPECT_EQ(runs, 6);
}

// Three requests with one key at once: one runs, the others wait for it and replay its answer.
TEST_P(Contract, ConcurrentRequestsWithOneKeyRunOnce) {
  api::IdempotencyStore idem(*db_, clock_);
  std::atomic<int> runs{0};
  std::atomic<int> replays{0};
  std::atomic<int> entered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      ++entered;
      auto r = idem.Run("o", "same", "h", [&] {
        ++runs;
        // The handler runs until every request has come in: they overlap it.
        while (entered.load() < 3) {
          std::this_thread::yield();
        }
        return std::optional<Stored>({201, "{}"});
      });
      if (r && *r && (*r)->status == 201) {
        ++replays;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(replays.load(), 2);
}

// Nested transactions are savepoints: an inner rollback undoes only the inner work.
TEST_P(Contract, NestedTransactionsAreSavepoints) {
  auto lease = db_->Acquire();
  ASSERT_TRUE(lease);
  store::Connection& c = **lease;
  ASSERT_TRUE(c.Begin());
  ASSERT_TRUE(
      c.Execute("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'o1', 0)", {}));
  auto inner = store::WithTransaction(c, [](store::Connection& t) -> Result<void> {
    PORTLINE_RETURN_IF_ERROR(
        t.Execute("INSERT INTO organizations (id, name, created_at) VALUES ('o2', 'o2', 0)", {}));
    // A constraint violation inside the savepoint: the outer transaction goes on.
    PORTLINE_RETURN_IF_ERROR(
        t.Execute("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'dup', 0)", {}));
    return {};
  });
  EXPECT_FALSE(inner);
  EXPECT_TRUE(c.InTransaction());
  ASSERT_TRUE(
      c.Execute("INSERT INTO organizations (id, name, created_at) VALUES ('o3', 'o3', 0)", {}));
  ASSERT_TRUE(c.Commit());
  auto rows =
      c.Query("SELECT id FROM organizations WHERE id IN ('o1', 'o2', 'o3') ORDER BY id", {});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2U);
  EXPECT_EQ((*rows)[0].Text(0), "o1");
  EXPECT_EQ((*rows)[1].Text(0), "o3");
}

TEST_P(Contract, ApiPipelineAuthTenancyIdempotencyPagination) {
  auto api = MakeApi();
  api::Api& a = *api;
  auto org_a = accounts_->CreateOrg("a", {"SIP"});
  auto org_b = accounts_->CreateOrg("b", {});
  ASSERT_TRUE(org_a && org_b);
  auto key_a = accounts_->CreateKey(org_a->id, "a");
  auto key_b = accounts_->CreateKey(org_b->id, "b");
  ASSERT_TRUE(key_a && key_b);

  // Authentication: missing, bare header, Bearer.
  EXPECT_EQ(Call(a, "GET", "/v1/organization", "").status, 401);
  {
    api::Request req;
    req.method = "GET";
    req.target = "/v1/organization";
    ASSERT_TRUE(api::ParseTarget(req.target, req));
    req.headers.push_back({"authorization", key_a->secret});
    auto r = a.Handle(req);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(Json(r.body).at("data").at("id").as_string(), org_a->id);
  }

  // SIP entitlement, exactly as the Bland seed says.
  auto sip = Call(a, "GET", "/v1/sip/numbers", key_b->secret);
  EXPECT_EQ(sip.status, 403);
  EXPECT_EQ(Json(sip.body).at("errors").at(0).at("error").as_string(), "SIP_NOT_ENABLED");
  EXPECT_EQ(Json(sip.body).at("errors").at(0).at("message").as_string(),
            "SIP is not enabled for this organization");

  // Tenancy: another organization's key is a 404, never a 403.
  auto b_key_id = key_b->key.id;
  EXPECT_EQ(Call(a, "GET", "/v1/api-keys/" + b_key_id, key_a->secret).status, 404);
  EXPECT_EQ(Call(a, "DELETE", "/v1/api-keys/" + b_key_id, key_a->secret).status, 404);
  EXPECT_EQ(Call(a, "GET", "/v1/api-keys/" + b_key_id, key_b->secret).status, 200);

  // Idempotency: same key + body replays; different body conflicts.
  const api::Header idem{"Idempotency-Key", "create-1"};
  auto c1 = Call(a, "POST", "/v1/api-keys", key_a->secret, R"({"name":"x"})", {idem});
  ASSERT_EQ(c1.status, 201) << c1.body;
  auto c2 = Call(a, "POST", "/v1/api-keys", key_a->secret, R"({"name":"x"})", {idem});
  EXPECT_EQ(c2.status, 201);
  EXPECT_EQ(Json(c2.body).at("data").at("id"), Json(c1.body).at("data").at("id"));
  EXPECT_TRUE(Json(c2.body).at("data").at("key").is_null());  // secret is never stored
  auto c3 = Call(a, "POST", "/v1/api-keys", key_a->secret, R"({"name":"y"})", {idem});
  EXPECT_EQ(c3.status, 409);
  EXPECT_EQ(Json(c3.body).at("errors").at(0).at("error").as_string(), "IDEMPOTENCY_KEY_REUSED");

  // Pagination: 2 keys of org a, one per page, then none.
  auto p1 = Call(a, "GET", "/v1/api-keys?limit=1", key_a->secret);
  ASSERT_EQ(p1.status, 200);
  auto cursor = Json(p1.body).at("data").at("next_cursor");
  ASSERT_TRUE(cursor.is_string());
  auto p2 = Call(a, "GET", "/v1/api-keys?limit=1&cursor=" + std::string(cursor.as_string()),
                 key_a->secret);
  ASSERT_EQ(p2.status, 200);
  EXPECT_TRUE(Json(p2.body).at("data").at("next_cursor").is_null());
  EXPECT_NE(Json(p1.body).at("data").at("api_keys").at(0).at("id"),
            Json(p2.body).at("data").at("api_keys").at(0).at("id"));
  auto bad_page = Call(a, "GET", "/v1/api-keys?limit=0&cursor=zzz", key_a->secret);
  EXPECT_EQ(bad_page.status, 400);
  EXPECT_EQ(Json(bad_page.body).at("errors").as_array().size(), 2U);  // both problems at once

  // Field validation reports every problem.
  auto invalid = Call(a, "POST", "/v1/api-keys", key_a->secret, R"({"name":7,"colour":"red"})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(Json(invalid.body).at("errors").as_array().size(), 2U);

  // Revocation takes effect on the next request.
  const auto new_secret = std::string(Json(c1.body).at("data").at("key").as_string());
  EXPECT_EQ(Call(a, "GET", "/v1/organization", new_secret).status, 200);
  const auto new_id = std::string(Json(c1.body).at("data").at("id").as_string());
  EXPECT_EQ(Call(a, "DELETE", "/v1/api-keys/" + new_id, key_a->secret).status, 200);
  EXPECT_EQ(Call(a, "GET", "/v1/organization", new_secret).status, 401);
}

TEST_P(Contract, RateLimitIsPerOrganizationWithRetryAfter) {
  api::ApiOptions opts;
  opts.rate_limit_per_second = 1;
  opts.rate_limit_burst = 2;
  auto api = MakeApi(opts);
  api::Api& a = *api;
  auto org_a = accounts_->CreateOrg("a", {});
  auto org_b = accounts_->CreateOrg("b", {});
  auto key_a = accounts_->CreateKey(org_a->id, "");
  auto key_b = accounts_->CreateKey(org_b->id, "");
  ASSERT_TRUE(key_a && key_b);
  EXPECT_EQ(Call(a, "GET", "/v1/organization", key_a->secret).status, 200);
  EXPECT_EQ(Call(a, "GET", "/v1/organization", key_a->secret).status, 200);
  auto limited = Call(a, "GET", "/v1/organization", key_a->secret);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Json(limited.body).at("errors").at(0).at("error").as_string(), "RATE_LIMITED");
  ASSERT_EQ(limited.headers.size(), 1U);
  EXPECT_EQ(limited.headers[0].name, "Retry-After");
  EXPECT_EQ(limited.headers[0].value, "1");
  EXPECT_EQ(Call(a, "GET", "/v1/organization", key_b->secret).status, 200);  // other org
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Call(a, "GET", "/v1/organization", key_a->secret).status, 200);  // refilled
}

TEST_P(Contract, ReadinessReflectsStorageAndDraining) {
  auto api = MakeApi();
  api::Api& a = *api;
  EXPECT_EQ(Call(a, "GET", "/readyz", "").status, 200);
  a.SetDraining(true);
  EXPECT_EQ(Call(a, "GET", "/readyz", "").status, 503);
}

INSTANTIATE_TEST_SUITE_P(Backends, Contract, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

// A PostgreSQL host given by name is looked up by Portline with the connection's deadline (libpq
// would call getaddrinfo without one): a name that resolves connects, one that does not fails
// within connect_timeout with the lookup's reason.
TEST(PostgresHostNames, AreLookedUpWithADeadline) {
  PORTLINE_REQUIRE_PG_OR_SKIP();
  std::string url = testing::FreshPgDatabase();
  ASSERT_NE(url.find("127.0.0.1"), std::string::npos) << url;
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  store::StoreOptions opts;
  opts.database_url = url;
  opts.pool_size = 1;
  auto db = store::OpenDatabase(opts);
  ASSERT_TRUE(db) << db.error().detail;
  auto rows = (*(*db)->Acquire())->Query("SELECT 1", {});
  ASSERT_TRUE(rows);

  opts.database_url = "postgres://portline@db.no-such-host.invalid:5432/portline?connect_timeout=1";
  const auto started = std::chrono::steady_clock::now();
  auto missing = store::OpenDatabase(opts);
  ASSERT_FALSE(missing);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_NE(missing.error().detail.find("db.no-such-host.invalid"), std::string::npos)
      << missing.error().detail;
}

}  // namespace
}  // namespace portline
