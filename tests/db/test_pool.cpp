// The pool and repositories against a real PostgreSQL started by the test itself.
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "core/error.hpp"
#include "store/migrate.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "support/stack.hpp"

using namespace amo;
using namespace amo::test;

namespace {
struct Db {
  std::string dir = make_temp_dir("amo-db");
  PgCluster pg{dir + "/pg"};
  Db() {
    pg.start();
    store::migrate(pg.url(), src_path("sql"));
  }
  ~Db() {
    pg.stop();
    run({"rm", "-rf", dir});
  }
};
// Polls `cond` every 5 ms for up to `ms`; true when it held.
template <typename F>
bool wait_for(F cond, int ms = 5000) {
  for (int waited = 0; waited < ms; waited += 5) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}
// f(tx) in one committed transaction of `p`; returns what f returned.
template <typename F>
auto committed(store::Pool& p, F f) {
  return p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto r = f(tx);
    tx.commit();
    return r;
  });
}
Db& db() {
  static Db d;
  return d;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(migrate_is_idempotent) {
  auto again = store::migrate(db().pg.url(), src_path("sql"));
  BOOST_TEST(again.empty());
  BOOST_TEST(db().pg.psql("SELECT count(*) FROM amo_schema_migrations") != "0");
}

BOOST_AUTO_TEST_CASE(bounded_wait_when_exhausted) {
  store::Pool p(db().pg.url(), 1, 200, store::prepare_connection);
  std::atomic<bool> hold{true};
  std::thread t([&] {
    p.with([&](pqxx::connection&) {
      while (hold) sleep_ms(5);
    });
  });
  BOOST_REQUIRE(wait_for([&] { return p.stats().in_use == 1; }));  // the one connection is held
  bool threw = false;
  try {
    p.with([](pqxx::connection&) {});
  } catch (const core::Error& e) {
    threw = e.fault() == core::Fault::kDbBusy;
  }
  hold = false;
  t.join();
  BOOST_TEST(threw);
  BOOST_TEST(p.stats().timeouts == 1u);
  p.with([](pqxx::connection&) {});  // usable again
}

BOOST_AUTO_TEST_CASE(broken_connection_is_dropped_and_replaced) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  int pid = p.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  db().pg.psql("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  BOOST_REQUIRE(wait_for([&] {
    return db().pg.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                        std::to_string(pid)) == "0";
  }));
  // The killed connection is detected and replaced; the caller never sees it.
  int pid2 = p.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  BOOST_TEST(pid2 != pid);
  BOOST_TEST(p.stats().broken >= 1u);
}

// Idle connections are handed out oldest first: with two open, one caller after another
// alternates between them (a stack would hand back the same one every time and leave the
// other idle until a server-side timeout closes it).
BOOST_AUTO_TEST_CASE(idle_connections_are_used_in_turn) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  auto backend = [](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  };
  // Two leases at once: both connections are open.
  p.with([&](pqxx::connection& a) {
    backend(a);
    p.with([&](pqxx::connection& b) { backend(b); });
  });
  std::vector<int> pids;
  for (int i = 0; i < 4; ++i) pids.push_back(p.with(backend));
  BOOST_TEST(pids[0] != pids[1]);
  BOOST_TEST(pids[0] == pids[2]);
  BOOST_TEST(pids[1] == pids[3]);
  BOOST_TEST(p.stats().open == 2);
}

BOOST_AUTO_TEST_CASE(connection_repository_round_trip) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  store::TokenWrite t{"enc-access", "enc-refresh", "kid1", 2000000000};
  p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    store::upsert_connection(tx, "repo-user", 42, "x.amocrm.ru", std::string("Acc"), t, "codehash");
    tx.commit();
  });
  auto row = p.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::get_connection(tx, "repo-user");
  });
  BOOST_REQUIRE(row);
  BOOST_TEST(*row->access_enc == "enc-access");
  BOOST_TEST(*row->refresh_enc == "enc-refresh");
  BOOST_TEST(*row->account_id == 42);
  BOOST_TEST(*row->expires_at == 2000000000);
  BOOST_TEST(!row->needs_reauth);
  // Conditional write: a stale version changes nothing.
  bool stale = p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    bool ok = store::update_tokens(tx, "repo-user", row->token_version + 5, t);
    tx.commit();
    return ok;
  });
  BOOST_TEST(!stale);
  auto unchanged = p.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::get_connection(tx, "repo-user");
  });
  BOOST_REQUIRE(unchanged);
  BOOST_TEST(unchanged->token_version == row->token_version);
  // The current version writes new values (different from what was read) and bumps it.
  store::TokenWrite t2{"enc-access-2", "enc-refresh-2", "kid2", 2000000100};
  bool fresh = p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    bool ok = store::update_tokens(tx, "repo-user", row->token_version, t2);
    tx.commit();
    return ok;
  });
  BOOST_TEST(fresh);
  auto after = p.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::get_connection(tx, "repo-user");
  });
  BOOST_REQUIRE(after);
  BOOST_TEST(*after->access_enc == "enc-access-2");
  BOOST_TEST(*after->refresh_enc == "enc-refresh-2");
  BOOST_TEST(*after->key_id == "kid2");
  BOOST_TEST(*after->expires_at == 2000000100);
  BOOST_TEST(after->token_version == row->token_version + 1);
  auto by_code = p.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::find_by_code(tx, "codehash");
  });
  BOOST_REQUIRE(by_code);
  BOOST_TEST(by_code->user_id == "repo-user");
}

BOOST_AUTO_TEST_CASE(state_single_use) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    store::insert_state(tx, "state-hash-1", "u-state", "oauth", 900);
    tx.commit();
  });
  auto consume = [&] {
    return p.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto r = store::consume_state(tx, "state-hash-1", "code-h");
      tx.commit();
      return r;
    });
  };
  auto first = consume();
  BOOST_REQUIRE(first);
  BOOST_TEST(first->user_id == "u-state");
  BOOST_TEST(!consume());
}

BOOST_AUTO_TEST_CASE(state_claim_is_bound_to_its_user_and_settles) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  p.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    store::insert_state(tx, "state-hash-2", "owner", "oauth", 900);
    tx.commit();
  });
  auto claim = [&](std::optional<std::string> user) {
    return p.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto r = store::consume_state(tx, "state-hash-2", "code-2", user);
      tx.commit();
      return r.has_value();
    });
  };
  auto get = [&] {
    return p.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return *store::get_state(tx, "state-hash-2");
    });
  };
  auto exec = [&](auto f) {
    p.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      f(tx);
      tx.commit();
    });
  };
  BOOST_TEST(!claim(std::string("intruder")));  // another user's state is never consumed
  BOOST_TEST(!get().consumed);
  BOOST_TEST(claim(std::string("owner")));
  BOOST_TEST(get().consumed);
  // Given back after a transient failure: claimable again.
  exec([](auto& tx) { store::release_state(tx, "state-hash-2", "code-2"); });
  BOOST_TEST(!get().consumed);
  BOOST_TEST(claim(std::nullopt));
  // Failed for good: stays consumed, is marked failed, and cannot be given back.
  exec([](auto& tx) { store::fail_state(tx, "state-hash-2", "code-2"); });
  exec([](auto& tx) { store::release_state(tx, "state-hash-2", "code-2"); });
  BOOST_TEST(get().consumed);
  BOOST_TEST(get().failed);
  BOOST_TEST(!claim(std::string("owner")));
}

BOOST_AUTO_TEST_CASE(rate_slots_are_paced) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  std::vector<int64_t> waits;
  for (int i = 0; i < 5; ++i) {
    auto w = p.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto r = store::reserve_slot(tx, "amo:test", 200, 700);
      tx.commit();
      return r;
    });
    waits.push_back(w ? *w : -1);
  }
  // 0, ~200, ~400, ~600, then refused (would wait > 700 ms): each slot one step after the
  // last (less the few ms the calls themselves took).
  BOOST_TEST(waits[0] <= 5);
  for (int i = 1; i < 4; ++i) BOOST_TEST((waits[i] > 200 * i - 50 && waits[i] <= 200 * i));
  BOOST_TEST(waits[4] == -1);
}

BOOST_AUTO_TEST_CASE(expired_or_used_state_is_never_claimed) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  auto exec = [&](auto f) { return committed(p, f); };
  exec([](auto& tx) { return store::insert_state(tx, "state-hash-exp", "u-exp", "oauth", 900); });
  exec([](auto& tx) {
    return store::insert_state(tx, "state-hash-live", "u-live", "api_key", 900);
  });
  db().pg.psql(
      "UPDATE amo_oauth_state SET expires_at = now() - interval '1 second' WHERE user_id = "
      "'u-exp'");
  BOOST_TEST(!exec([](auto& tx) { return store::consume_state(tx, "state-hash-exp", "c"); }));
  auto expired = exec([](auto& tx) { return store::get_state(tx, "state-hash-exp"); });
  BOOST_REQUIRE(expired);
  BOOST_TEST(expired->expired);
  BOOST_TEST(!expired->consumed);
  // A live one is claimed once, for the code given, and says so.
  auto first = exec([](auto& tx) { return store::consume_state(tx, "state-hash-live", "code-a"); });
  BOOST_REQUIRE(first);
  BOOST_TEST(first->user_id == "u-live");
  BOOST_TEST(first->purpose == "api_key");
  BOOST_TEST(first->consumed);
  BOOST_TEST(!first->expired);
  BOOST_TEST(first->code_hash.value_or("") == "code-a");
  BOOST_TEST(!exec([](auto& tx) { return store::consume_state(tx, "state-hash-live", "code-b"); }));
  auto after = exec([](auto& tx) { return store::get_state(tx, "state-hash-live"); });
  BOOST_TEST(after->code_hash.value_or("") == "code-a");  // the second claim changed nothing
  // Releasing with another code gives nothing back.
  exec([](auto& tx) {
    store::release_state(tx, "state-hash-live", "code-b");
    return 0;
  });
  BOOST_TEST(exec([](auto& tx) { return store::get_state(tx, "state-hash-live"); })->consumed);
}

BOOST_AUTO_TEST_CASE(needs_reauth_is_marked_for_the_version_read) {
  store::Pool p(db().pg.url(), 2, 1000, store::prepare_connection);
  auto exec = [&](auto f) { return committed(p, f); };
  auto row = [&] {
    return *exec([](auto& tx) { return store::get_connection(tx, "reauth-user"); });
  };
  store::TokenWrite t{"a", "r", "kid1", 2000000000};
  exec([&](auto& tx) {
    store::upsert_connection(tx, "reauth-user", 7, "x.amocrm.ru", std::nullopt, t, "reauth-code");
    return 0;
  });
  const int64_t v = row().token_version;
  // Someone rotated the pair since (a stale version): not marked.
  BOOST_TEST(!exec([&](auto& tx) { return store::mark_needs_reauth(tx, "reauth-user", v + 1); }));
  BOOST_TEST(!row().needs_reauth);
  BOOST_TEST(row().token_version == v);
  BOOST_TEST(exec([&](auto& tx) { return store::mark_needs_reauth(tx, "reauth-user", v); }));
  BOOST_TEST(row().needs_reauth);
  BOOST_TEST(row().token_version == v + 1);
  // A marked connection is not due for a keep-alive refresh, whatever its age.
  db().pg.psql(
      "UPDATE amo_connection SET last_refresh_at = now() - interval '60 days' WHERE user_id = "
      "'reauth-user'");
  auto due = [&] {  // is reauth-user due?
    auto users = exec([](auto& tx) { return store::due_for_refresh(tx, 30); });
    return std::count(users.begin(), users.end(), "reauth-user");
  };
  BOOST_TEST(due() == 0);
  // Connecting again clears the flag; then it is due (60 days idle > 30).
  exec([&](auto& tx) {
    store::upsert_connection(tx, "reauth-user", 7, "x.amocrm.ru", std::nullopt, t, "reauth-code-2");
    return 0;
  });
  BOOST_TEST(!row().needs_reauth);
  BOOST_TEST(due() == 0);  // just refreshed
  db().pg.psql(
      "UPDATE amo_connection SET last_refresh_at = now() - interval '60 days' WHERE user_id = "
      "'reauth-user'");
  BOOST_TEST(due() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(grants)

// The service's least-privilege role (sql/grants.sql) can run the service and `migrate`
// on an up-to-date schema, and cannot change the schema.
BOOST_AUTO_TEST_CASE(service_role_is_least_privilege) {
  auto& pg = db().pg;
  pg.psql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'amo_svc') THEN CREATE "
      "ROLE amo_svc LOGIN; END IF; END $$");
  std::string out;
  int rc = run({"psql", pg.url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "role=amo_svc", "-f",
                src_path("sql/grants.sql")},
               &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::string svc_url = pg.url();
  svc_url.replace(svc_url.find("user=postgres"), 13, "user=amo_svc");
  BOOST_TEST(store::migrate(svc_url, src_path("sql")).empty());
  store::Pool p(svc_url, 1, 1000, store::prepare_connection);
  p.with([](pqxx::connection& c) {
    pqxx::work tx(c);
    store::insert_state(tx, "grant-state", "grant-user", "oauth", 60);
    store::audit(tx, "test", std::string("grant-user"), std::nullopt);
    tx.commit();
  });
  // refresh-due records its runs as the service role; /metrics reads them back.
  store::record_job_run(p, {"grant-job", 1700000000.5, true, 6, 3, 2, 1});
  auto g = p.with([](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::scrape_gauges(tx, "grant-job");
  });
  BOOST_TEST(g.last_success.has_value());
  BOOST_TEST((g.last_run == g.last_success));
  BOOST_TEST(g.last_due == 6);
  BOOST_TEST(g.last_refreshed == 3);
  BOOST_TEST(g.last_reauth == 2);
  BOOST_TEST(g.last_failed == 1);
  BOOST_TEST(pg.psql("SELECT started_at = to_timestamp(1700000000.5) FROM amo_job_run WHERE "
                     "job = 'grant-job'") == "t");
  bool denied = false;
  try {
    p.with([](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("DROP TABLE amo_audit_log");
    });
  } catch (const pqxx::sql_error&) {
    denied = true;
  }
  BOOST_TEST(denied);
  bool no_delete_audit = false;
  try {
    p.with([](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("DELETE FROM amo_audit_log");
    });
  } catch (const pqxx::sql_error&) {
    no_delete_audit = true;
  }
  BOOST_TEST(no_delete_audit);
}

BOOST_AUTO_TEST_SUITE_END()
