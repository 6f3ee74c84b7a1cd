// The leads store against the simulator, two `amo-connect serve` processes behind one
// nginx upstream: fresh answers without amoCRM calls, one amoCRM call for identical
// concurrent requests in either process, 304s, stale answers when amoCRM fails (and only
// then), nothing stored once a connection is gone, encrypted at rest, bounded.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <iostream>
#include <set>
#include <thread>

#include "crypto/crypto.hpp"
#include "e2e_util.hpp"

using namespace amo::test;

namespace {

Stack& ls() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    StackOptions o;
    o.servers = 2;
    // A wide freshness window: "within the window" must hold on a slow, sanitized build.
    // Stale answers are bounded at an hour so that the bound itself can be tested.
    o.env = {{"LEADS_FRESH_S", "60"},
             {"LEADS_STALE_MAX_S", "3600"},
             {"AMO_RATE_LIMIT_MAX_WAIT_MS", "15000"},
             {"WORKER_THREADS", "16"}};
    s = std::make_unique<Stack>(o);
    std::atexit([] { s.reset(); });
  }
  return *s;
}

struct Fresh {
  Fresh() {
    ls().sim_reset();
    ls().pg->psql("DELETE FROM amo_rate_limit");
  }
};

HttpResult get(const std::string& user, const std::string& path,
               std::vector<std::string> headers = {}) {
  headers.push_back(ls().auth(user));
  return http_get(ls().api(path), headers);
}

int64_t leads_calls() { return counter(ls(), "leads"); }

// The simulator counts a call when it handles it, after its latency: an answer we gave up
// on is counted later.
void wait_leads_calls(int64_t n) {
  for (int i = 0; i < 200 && leads_calls() < n; ++i) sleep_ms(50);
  BOOST_TEST(leads_calls() == n);
}

std::string store_count(const std::string& user) {
  return ls().pg->psql("SELECT count(*) FROM amo_response_store WHERE user_id = '" + user + "'");
}

// Makes every stored answer of the user `seconds` older (no waiting for time to pass).
void age(const std::string& user, int seconds) {
  ls().pg->psql("UPDATE amo_response_store SET fetched_at = fetched_at - make_interval(secs => " +
                std::to_string(seconds) + "), written_at = written_at - make_interval(secs => " +
                std::to_string(seconds) + ") WHERE user_id = '" + user + "'");
}

// `n` identical requests of `user` at once.
std::vector<HttpResult> at_once(size_t n, const std::string& user, const std::string& path) {
  std::vector<HttpResult> results(n);
  std::vector<std::thread> ts;
  for (size_t i = 0; i < n; ++i) ts.emplace_back([&, i] { results[i] = get(user, path); });
  for (auto& t : ts) t.join();
  return results;
}

void knobs(const std::string& json) { sim_post(ls(), "/_sim/knobs", json); }

std::string fetched_at(const HttpResult& r) {
  return body_json(r)["data"]["fetchedAt"].GetString();
}

// Requests of a route in server i's log (to show which processes served a burst).
size_t served(int i, const char* route = "/leads") {
  std::string log = ls().server_log(i);
  std::string needle = std::string("\"route\":\"") + route + "\"";
  size_t n = 0;
  for (size_t p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
  return n;
}

void expect_stale(const HttpResult& r, const std::string& reason, const std::string& fetched) {
  BOOST_TEST_CONTEXT(reason) {
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);
    auto d = body_json(r);
    BOOST_TEST(d["data"]["stale"].IsTrue());
    BOOST_REQUIRE(d["data"].HasMember("staleReason"));
    BOOST_TEST(std::string(d["data"]["staleReason"].GetString()) == reason);
    BOOST_TEST(std::string(d["data"]["fetchedAt"].GetString()) == fetched);
    BOOST_TEST(d["data"]["leads"].Size() == 5u);
  }
}

// The metric line's value in one scrape (0 when absent).
int64_t metric(const std::string& body, const std::string& series) {
  auto p = body.find(series + " ");
  if (p == std::string::npos) return 0;
  return std::stoll(body.substr(p + series.size() + 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(leads_store)

BOOST_FIXTURE_TEST_CASE(fresh_answers_make_no_amocrm_call, Fresh) {
  connect_user(ls(), "st-1");
  auto first = get("st-1", "/leads?limit=10");
  BOOST_REQUIRE_EQUAL(first.status, 200);
  BOOST_TEST(leads_calls() == 1);
  auto d1 = body_json(first);
  BOOST_TEST(d1["data"]["stale"].IsFalse());
  BOOST_TEST(!d1["data"].HasMember("staleReason"));
  BOOST_TEST(d1["data"]["leads"].Size() == 10u);
  // The same query, spelled differently (defaults explicit), within the window: no call.
  auto second = get("st-1", "/leads?limit=10&page=1&order=created_at:desc");
  BOOST_REQUIRE_EQUAL(second.status, 200);
  BOOST_TEST(leads_calls() == 1);
  BOOST_TEST((body_json(second)["data"]["leads"] == d1["data"]["leads"]));
  BOOST_TEST(fetched_at(second) == fetched_at(first));
  BOOST_TEST(second.header("etag") == first.header("etag"));
  BOOST_TEST(second.header("cache-control") == "private, no-cache");
  // Another query is another entry; another user (other rights) another call.
  BOOST_TEST(get("st-1", "/leads?limit=10&page=2").status == 200);
  BOOST_TEST(leads_calls() == 2);
  connect_user(ls(), "st-1b");
  BOOST_TEST(get("st-1b", "/leads?limit=10").status == 200);
  BOOST_TEST(leads_calls() == 3);
  // Pipelines: one key per user.
  BOOST_TEST(get("st-1", "/pipelines").status == 200);
  BOOST_TEST(get("st-1", "/pipelines").status == 200);
  BOOST_TEST(counter(ls(), "pipelines") == 1);
  BOOST_TEST(store_count("st-1") == "3");
  // Once the window has passed, amoCRM is asked again.
  age("st-1", 61);
  auto later = get("st-1", "/leads?limit=10");
  BOOST_TEST(later.status == 200);
  BOOST_TEST(leads_calls() == 4);
  BOOST_TEST(body_json(later)["data"]["stale"].IsFalse());
}

BOOST_FIXTURE_TEST_CASE(if_none_match_answers_304_from_the_store, Fresh) {
  connect_user(ls(), "st-etag");
  auto first = get("st-etag", "/leads?limit=5");
  BOOST_REQUIRE_EQUAL(first.status, 200);
  std::string etag = first.header("etag");
  BOOST_REQUIRE(!etag.empty());
  auto again = get("st-etag", "/leads?limit=5", {"If-None-Match: " + etag});
  BOOST_TEST(again.status == 304);
  BOOST_TEST(again.body.empty());
  BOOST_TEST(again.header("etag") == etag);
  BOOST_TEST(leads_calls() == 1);
  BOOST_TEST(get("st-etag", "/leads?limit=5", {"If-None-Match: \"other\""}).status == 200);
  auto p = get("st-etag", "/pipelines");
  auto p304 = get("st-etag", "/pipelines", {"If-None-Match: " + p.header("etag")});
  BOOST_TEST(p304.status == 304);
  BOOST_TEST(counter(ls(), "pipelines") == 1);
}

BOOST_FIXTURE_TEST_CASE(twenty_concurrent_identical_requests_one_amocrm_call, Fresh) {
  connect_user(ls(), "st-burst");
  knobs("{\"latency_ms\":400}");  // the first call is still in flight when the rest arrive
  size_t before0 = served(0), before1 = served(1);
  auto results = at_once(20, "st-burst", "/leads?limit=20");
  knobs("{\"latency_ms\":0}");
  std::set<std::string> bodies;
  for (auto& r : results) {
    BOOST_TEST(r.status == 200);
    if (r.status == 200)
      bodies.insert(body_json(r)["data"]["leads"].GetArray()[0]["name"].GetString());
  }
  BOOST_TEST(bodies.size() == 1u);
  BOOST_TEST(leads_calls() == 1);
  // Both processes answered some of them: the single flight is shared through PostgreSQL.
  BOOST_TEST(served(0) > before0);
  BOOST_TEST(served(1) > before1);
  BOOST_TEST(served(0) + served(1) == before0 + before1 + 20);
  std::cout << "20 concurrent identical requests: leads calls=" << leads_calls()
            << " (server 0 served " << served(0) - before0 << ", server 1 " << served(1) - before1
            << ")" << std::endl;
}

BOOST_FIXTURE_TEST_CASE(two_processes_share_one_store, Fresh) {
  connect_user(ls(), "st-share");
  size_t before0 = served(0, "/pipelines"), before1 = served(1, "/pipelines");
  for (int i = 0; i < 8; ++i) BOOST_TEST(get("st-share", "/pipelines").status == 200);
  BOOST_TEST(served(0, "/pipelines") > before0);
  BOOST_TEST(served(1, "/pipelines") > before1);
  BOOST_TEST(counter(ls(), "pipelines") == 1);
}

BOOST_FIXTURE_TEST_CASE(stale_if_amocrm_fails, Fresh) {
  connect_user(ls(), "st-stale");
  auto good = get("st-stale", "/leads?limit=5");
  BOOST_REQUIRE_EQUAL(good.status, 200);
  age("st-stale", 600);  // past the freshness window, within the stale bound
  std::string fetched = ls().pg->psql(
      "SELECT to_char(fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM "
      "amo_response_store WHERE user_id = 'st-stale' AND kind = 'leads'");
  int64_t calls = leads_calls();

  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":1}}");
  expect_stale(get("st-stale", "/leads?limit=5"), "amo_unavailable", fetched);
  BOOST_TEST(leads_calls() == ++calls);

  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":500,\"count\":1,\"body\":\"html\"}}");
  expect_stale(get("st-stale", "/leads?limit=5"), "amo_unavailable", fetched);
  BOOST_TEST(leads_calls() == ++calls);

  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":429,\"count\":2}}");
  expect_stale(get("st-stale", "/leads?limit=5"), "amo_rate_limited", fetched);
  calls += 2;  // the one retry
  BOOST_TEST(leads_calls() == calls);

  knobs("{\"latency_ms\":4500}");  // AMO_HTTP_TIMEOUT_MS is 3000
  auto slow = get("st-stale", "/leads?limit=5");
  knobs("{\"latency_ms\":0}");
  expect_stale(slow, "amo_timeout", fetched);
  wait_leads_calls(++calls);

  // Our own pacer would wait past AMO_RATE_LIMIT_MAX_WAIT_MS: amoCRM is not even asked.
  ls().pg->psql(
      "INSERT INTO amo_rate_limit (bucket, next_at) VALUES ('amo:reforyou.amocrm.ru', now() + "
      "interval '1 hour') ON CONFLICT (bucket) DO UPDATE SET next_at = EXCLUDED.next_at");
  expect_stale(get("st-stale", "/leads?limit=5"), "rate_limited", fetched);
  BOOST_TEST(leads_calls() == calls);
  ls().pg->psql("DELETE FROM amo_rate_limit");

  // amoCRM down: both servers pointed at a closed port.
  const std::string closed = "http://127.0.0.1:" + std::to_string(free_port());
  ls().restart_server(0, {{"AMO_BASE_URL", closed}});
  ls().restart_server(1, {{"AMO_BASE_URL", closed}});
  for (int i = 0; i < 2; ++i)  // one request per server, whichever nginx picks
    expect_stale(get("st-stale", "/leads?limit=5"), "amo_unavailable", fetched);
  // A query never stored has nothing to stand in: the error as before.
  auto none = get("st-stale", "/leads?limit=6");
  BOOST_TEST(none.status == 503);
  BOOST_TEST(error_code(none) == "amo_unavailable");
  ls().restart_server(0);
  ls().restart_server(1);
  BOOST_TEST(leads_calls() == calls);

  // Not for answers amoCRM gave but we cannot read, nor for a refusal of access.
  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":200,\"count\":1,\"body\":\"html\"}}");
  auto garbage = get("st-stale", "/leads?limit=5");
  BOOST_TEST(garbage.status == 502);
  BOOST_TEST(error_code(garbage) == "amo_bad_response");
  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":403,\"count\":1}}");
  auto forbidden = get("st-stale", "/leads?limit=5");
  BOOST_TEST(forbidden.status == 403);
  BOOST_TEST(error_code(forbidden) == "forbidden");

  // Past LEADS_STALE_MAX_S (an hour here) the stored answer is not served.
  age("st-stale", 3600);
  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":1}}");
  auto too_old = get("st-stale", "/leads?limit=5");
  BOOST_TEST(too_old.status == 503);
  BOOST_TEST(error_code(too_old) == "amo_unavailable");

  // amoCRM back: a fresh answer, stored again.
  auto back = get("st-stale", "/leads?limit=5");
  BOOST_REQUIRE_EQUAL(back.status, 200);
  BOOST_TEST(body_json(back)["data"]["stale"].IsFalse());
  BOOST_TEST(fetched_at(back) != fetched);
  int64_t now_calls = leads_calls();
  BOOST_TEST(get("st-stale", "/leads?limit=5").status == 200);
  BOOST_TEST(leads_calls() == now_calls);
}

BOOST_FIXTURE_TEST_CASE(waiting_requests_share_the_failure, Fresh) {
  connect_user(ls(), "st-fail");
  BOOST_REQUIRE_EQUAL(get("st-fail", "/leads?limit=5").status, 200);
  age("st-fail", 600);
  // Slow and then failing: the 10 requests that wait for the one call all answer stale.
  knobs("{\"latency_ms\":1000,\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":10}}");
  auto results = at_once(10, "st-fail", "/leads?limit=5");
  knobs("{\"latency_ms\":0,\"fail_next\":null}");
  for (auto& r : results) {
    BOOST_TEST(r.status == 200);
    if (r.status == 200) BOOST_TEST(body_json(r)["data"]["stale"].IsTrue());
  }
  BOOST_TEST(leads_calls() == 2);  // the first fill and the one failed call
}

BOOST_FIXTURE_TEST_CASE(a_gone_connection_empties_the_store_and_answers_409, Fresh) {
  // Disconnect by the user.
  connect_user(ls(), "st-dc");
  BOOST_REQUIRE_EQUAL(get("st-dc", "/leads?limit=5").status, 200);
  BOOST_REQUIRE_EQUAL(get("st-dc", "/pipelines").status, 200);
  BOOST_TEST(store_count("st-dc") == "2");
  BOOST_TEST(http("POST", ls().api("/disconnect"), {ls().auth("st-dc")}).status == 200);
  BOOST_TEST(store_count("st-dc") == "0");
  for (auto path : {"/leads?limit=5", "/pipelines"}) {
    auto r = get("st-dc", path);
    BOOST_TEST(r.status == 409);
    BOOST_TEST(error_code(r) == "not_connected");
  }

  // Refresh token revoked: the refresh is rejected, the store emptied, 409 (never stale).
  connect_user(ls(), "st-rev");
  BOOST_REQUIRE_EQUAL(get("st-rev", "/leads?limit=5").status, 200);
  age("st-rev", 600);
  ls().pg->psql(
      "UPDATE amo_connection SET expires_at = now() - interval '1 minute' WHERE user_id = "
      "'st-rev'");
  sim_post(ls(), "/_sim/revoke-refresh");
  sim_post(ls(), "/_sim/expire-access");
  auto rev = get("st-rev", "/leads?limit=5");
  BOOST_TEST(rev.status == 409);
  BOOST_TEST(error_code(rev) == "reauthorization_required");
  BOOST_TEST(store_count("st-rev") == "0");
  BOOST_TEST(error_code(get("st-rev", "/pipelines")) == "reauthorization_required");

  // Connecting again (a new connection may be another login): the old answers go.
  connect_user(ls(), "st-re");
  BOOST_REQUIRE_EQUAL(get("st-re", "/leads?limit=5").status, 200);
  BOOST_TEST(store_count("st-re") == "1");
  connect_user(ls(), "st-re");
  BOOST_TEST(store_count("st-re") == "0");
  int64_t calls = leads_calls();
  BOOST_TEST(get("st-re", "/leads?limit=5").status == 200);
  BOOST_TEST(leads_calls() == calls + 1);

  // An entry read from another account than the connection's now is never served, fresh
  // or stale.
  ls().pg->psql("UPDATE amo_response_store SET account_id = 1 WHERE user_id = 'st-re'");
  knobs("{\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":1}}");
  auto other = get("st-re", "/leads?limit=5");
  BOOST_TEST(other.status == 503);
  BOOST_TEST(error_code(other) == "amo_unavailable");
  BOOST_TEST(leads_calls() == calls + 2);

  // amoCRM's hook: a replay (the tokens still work) keeps the connection and its answers;
  // once the integration is really removed, every connection of the account goes, and
  // every stored answer with it.
  connect_user(ls(), "st-hook");
  BOOST_REQUIRE_EQUAL(get("st-hook", "/leads?limit=5").status, 200);
  BOOST_TEST(store_count("st-hook") == "1");
  const std::string cid = ls().env.at("AMO_CLIENT_ID");
  const std::string sig = amo::crypto::hex(
      amo::crypto::hmac_sha256(ls().env.at("AMO_CLIENT_SECRET"), cid + "|31920194"));
  const std::string hook_url =
      ls().api("/disconnect", 1) + "?client_uuid=" + cid + "&account_id=31920194&signature=" + sig;
  auto replay = http_get(hook_url);
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(store_count("st-hook") == "1");
  BOOST_TEST(get("st-hook", "/leads?limit=5").status == 200);
  sim_post(ls(), "/_sim/uninstall");
  auto hook = http_get(hook_url);
  BOOST_TEST(hook.status == 200);
  BOOST_TEST(body_json(hook)["data"]["disconnected"].GetInt() >= 1);
  BOOST_TEST(ls().pg->psql("SELECT count(*) FROM amo_connection") == "0");
  BOOST_TEST(ls().pg->psql("SELECT count(*) FROM amo_response_store") == "0");
  auto gone = get("st-hook", "/leads?limit=5");
  BOOST_TEST(gone.status == 409);
  BOOST_TEST(error_code(gone) == "not_connected");
}

BOOST_FIXTURE_TEST_CASE(a_database_dump_holds_no_lead_data, Fresh) {
  connect_user(ls(), "st-dump");
  auto all = get("st-dump", "/leads?limit=250");
  BOOST_REQUIRE_EQUAL(all.status, 200);
  auto pipes = get("st-dump", "/pipelines");
  BOOST_REQUIRE_EQUAL(pipes.status, 200);
  auto d = body_json(all);
  BOOST_REQUIRE_EQUAL(d["data"]["leads"].Size(), 100u);
  std::string word = d["data"]["leads"][7]["name"].GetString();
  word = word.substr(0, word.find(' '));
  BOOST_REQUIRE_EQUAL(get("st-dump", "/leads?query=" + amo::http::url_encode(word)).status, 200);
  BOOST_TEST(store_count("st-dump") == "3");

  std::string dump;
  int rc = run({"pg_dump", ls().pg->url(), "--data-only"}, &dump, {}, /*merge_stderr=*/false);
  BOOST_REQUIRE_MESSAGE(rc == 0, "pg_dump exited " << rc);
  BOOST_TEST(dump.find("COPY public.amo_response_store") != std::string::npos);
  BOOST_TEST(dump.find("st-dump\tleads") != std::string::npos);  // the rows are there…
  for (auto& l : d["data"]["leads"].GetArray()) {                // …but not one lead name
    std::string name = l["name"].GetString();
    BOOST_TEST(dump.find(name) == std::string::npos, name);
  }
  auto pd = body_json(pipes);
  for (auto& p : pd["data"]["pipelines"].GetArray()) {
    BOOST_TEST(dump.find(p["name"].GetString()) == std::string::npos);
    for (auto& st : p["statuses"].GetArray())
      BOOST_TEST(dump.find(st["name"].GetString()) == std::string::npos);
  }
  // Nor the queries: keys are hashes.
  BOOST_TEST(dump.find(word) == std::string::npos, word);
  BOOST_TEST(dump.find(amo::http::url_encode(word)) == std::string::npos);
  BOOST_TEST(dump.find("limit=250") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(the_service_role_can_use_the_store, Fresh) {
  auto& pg = *ls().pg;
  pg.psql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'amo_store_svc') THEN "
      "CREATE ROLE amo_store_svc LOGIN; END IF; END $$");
  std::string out;
  int rc = run({"psql", pg.url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "role=amo_store_svc",
                "-f", src_path("sql/grants.sql")},
               &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  // Every statement kind the service runs on the table, as that role (psql fails the
  // test with "permission denied" when a grant is missing).
  BOOST_CHECK_NO_THROW(
      pg.psql("BEGIN; SET LOCAL ROLE amo_store_svc; "
              "SELECT pg_advisory_xact_lock(7263004, hashtext('r')); "
              "INSERT INTO amo_response_store (user_id, kind, key_hash) VALUES ('r', 'leads', "
              "sha256('k')); "
              "UPDATE amo_response_store SET lease_until = now() WHERE user_id = 'r'; "
              "SELECT count(*) FROM amo_response_store WHERE user_id = 'r'; "
              "DELETE FROM amo_response_store WHERE user_id = 'r'; COMMIT"));
  BOOST_TEST(pg.psql("SELECT count(*) FROM amo_response_store WHERE user_id = 'r'") == "0");
  // …and nothing more: it cannot change the table.
  BOOST_CHECK_THROW(
      pg.psql("BEGIN; SET LOCAL ROLE amo_store_svc; ALTER TABLE amo_response_store ADD COLUMN "
              "x int; COMMIT"),
      std::runtime_error);
}

BOOST_FIXTURE_TEST_CASE(store_metrics, Fresh) {
  // One server (the binary's shared stack), so one scrape sees every count.
  auto& s = shared_stack();
  s.sim_reset();
  connect_user(s, "st-metrics");
  auto scrape = [&] {
    auto m = http_get(s.base + "/metrics");
    BOOST_REQUIRE_EQUAL(m.status, 200);
    return m.body;
  };
  auto series = [](const char* outcome) {
    return std::string("amo_leads_store_requests_total{kind=\"leads\",outcome=\"") + outcome +
           "\"}";
  };
  std::string before = scrape();
  auto q = [&] { return http_get(s.api("/leads?limit=3"), {s.auth("st-metrics")}); };
  BOOST_TEST(q().status == 200);  // miss
  BOOST_TEST(q().status == 200);  // hit
  s.pg->psql(
      "UPDATE amo_response_store SET fetched_at = fetched_at - interval '1 minute', written_at = "
      "written_at - interval '1 minute' WHERE user_id = 'st-metrics'");
  sim_post(s, "/_sim/knobs", "{\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":1}}");
  auto stale = q();  // miss + stale
  BOOST_TEST(body_json(stale)["data"]["stale"].IsTrue());
  sim_post(s, "/_sim/knobs", "{\"latency_ms\":1000}");
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};  // Boost.Test's checks are not thread-safe: count, check after
  for (int i = 0; i < 5; ++i) ts.emplace_back([&] { ok += q().status == 200; });
  for (auto& t : ts) t.join();  // one miss, the rest coalesced (or hits, if they came late)
  BOOST_TEST(ok.load() == 5);
  sim_post(s, "/_sim/knobs", "{\"latency_ms\":0}");
  std::string after = scrape();
  auto delta = [&](const char* o) { return metric(after, series(o)) - metric(before, series(o)); };
  BOOST_TEST(delta("miss") == 3);
  BOOST_TEST(delta("stale") == 1);
  BOOST_TEST(delta("hit") + delta("coalesced") == 5);
  BOOST_TEST(delta("coalesced") >= 1);
  BOOST_TEST(counter(s, "leads") == 3);
  BOOST_TEST(after.find("# TYPE amo_leads_store_requests_total counter") != std::string::npos);
  BOOST_TEST(after.find("amo_leads_store_evictions_total{reason=\"cap\"}") != std::string::npos);
}

// Last: it changes the servers' settings and removes other cases' entries.
BOOST_FIXTURE_TEST_CASE(the_store_is_bounded, Fresh) {
  auto& pg = *ls().pg;
  pg.psql("DELETE FROM amo_response_store");
  // Per user: the oldest beyond LEADS_STORE_PER_USER go; overall: LEADS_STORE_MAX_ENTRIES.
  ls().restart_server(0, {{"LEADS_STORE_PER_USER", "3"}, {"LEADS_STORE_MAX_ENTRIES", "5"}});
  ls().restart_server(1, {{"LEADS_STORE_PER_USER", "3"}, {"LEADS_STORE_MAX_ENTRIES", "5"}});
  connect_user(ls(), "st-cap");
  for (int page = 1; page <= 5; ++page)
    BOOST_TEST(get("st-cap", "/leads?limit=10&page=" + std::to_string(page)).status == 200);
  BOOST_TEST(store_count("st-cap") == "3");
  BOOST_TEST(leads_calls() == 5);
  BOOST_TEST(get("st-cap", "/leads?limit=10&page=5").status == 200);  // kept
  BOOST_TEST(leads_calls() == 5);
  BOOST_TEST(get("st-cap", "/leads?limit=10&page=1").status == 200);  // evicted: fetched again
  BOOST_TEST(leads_calls() == 6);
  BOOST_TEST(store_count("st-cap") == "3");
  connect_user(ls(), "st-cap2");
  for (int page = 1; page <= 3; ++page) {
    BOOST_TEST(get("st-cap2", "/leads?limit=10&page=" + std::to_string(page)).status == 200);
    BOOST_TEST(std::stoi(pg.psql("SELECT count(*) FROM amo_response_store")) <= 5);
  }
  BOOST_TEST(store_count("st-cap2") == "3");  // the newest; st-cap's oldest went
  BOOST_TEST(store_count("st-cap") == "2");
  ls().restart_server(0);
  ls().restart_server(1);

  // refresh-due purges what is past LEADS_STORE_MAX_AGE_S and enforces the global cap.
  age("st-cap", 2 * 86400);
  std::string out;
  int rc = run({bin_path("amo-connect"), "refresh-due"}, &out, ls().env);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("; 2 stored leads answers purged") != std::string::npos, out);
  BOOST_TEST(store_count("st-cap") == "0");
  BOOST_TEST(store_count("st-cap2") == "3");
  auto env = ls().env;
  env["LEADS_STORE_MAX_ENTRIES"] = "1";
  env["LEADS_STORE_PER_USER"] = "1";
  rc = run({bin_path("amo-connect"), "refresh-due"}, &out, env);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("; 2 stored leads answers purged") != std::string::npos, out);
  BOOST_TEST(pg.psql("SELECT count(*) FROM amo_response_store") == "1");
  // check-config shows the settings.
  rc = run({bin_path("amo-connect"), "check-config"}, &out, env);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("LEADS_STORE_MAX_ENTRIES=1\n") != std::string::npos, out);
  BOOST_TEST(out.find("LEADS_FRESH_S=60\n") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
