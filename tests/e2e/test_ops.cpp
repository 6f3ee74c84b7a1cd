// Operations inside the server: graceful shutdown, key rotation, metrics format, and no
// secret in any log line of a full run; refresh-due runs and the alert rules' metrics in
// /metrics.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "crypto/crypto.hpp"
#include "e2e_util.hpp"

using namespace amo::test;

namespace {
Stack& ops_stack() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    s = std::make_unique<Stack>();
    std::atexit([] { s.reset(); });
  }
  return *s;
}

std::string scrape(Stack& s) {
  auto m = http_get(s.base + "/metrics");
  BOOST_REQUIRE_EQUAL(m.status, 200);
  return m.body;
}

// The value of the sample `series` (name and labels exactly as exported), "" when absent.
std::string sample(const std::string& body, const std::string& series) {
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  return "";
}

bool has_family(const std::string& body, const std::string& name) {
  return body.find("# TYPE " + name + " ") != std::string::npos;
}

// Runs `amo-connect refresh-due` as its systemd unit does, and checks its summary line.
void refresh_due(Stack& s, const std::string& expect_out, int expect_rc) {
  std::string out;
  int rc = run({bin_path("amo-connect"), "refresh-due"}, &out, s.env);
  BOOST_TEST(rc == expect_rc, out);
  BOOST_TEST(out.find(expect_out) != std::string::npos, out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops)

BOOST_AUTO_TEST_CASE(sigterm_finishes_in_flight_requests) {
  auto& s = ops_stack();
  s.sim_reset();
  connect_user(s, "ops-term");
  sim_post(s, "/_sim/knobs", "{\"latency_ms\":1500}");
  HttpResult in_flight;
  std::thread t([&] { in_flight = http_get(s.api("/test"), {s.auth("ops-term")}); });
  // Wait until the request is inside the server (the scrape itself is the other one).
  bool inside = false;
  for (int i = 0; i < 400 && !inside; ++i) {
    inside = http_get(s.base + "/metrics").body.find("amo_http_requests_in_flight 2") !=
             std::string::npos;
    if (!inside) sleep_ms(25);
  }
  BOOST_REQUIRE(inside);
  int rc = s.server(0).stop(15, 20000);
  t.join();
  sim_post(s, "/_sim/knobs", "{\"latency_ms\":0}");
  BOOST_TEST(rc == 0);
  BOOST_TEST(in_flight.status == 200, in_flight.body);
  std::string log = s.server_log(0);
  BOOST_TEST(log.find("\"msg\":\"stopping\"") != std::string::npos);
  BOOST_TEST(log.find("\"msg\":\"stopped\"") != std::string::npos);
  s.restart_server(0);
  BOOST_TEST(http_get(s.api("/status"), {s.auth("ops-term")}).status == 200);
}

BOOST_AUTO_TEST_CASE(rotate_keys_without_downtime) {
  auto& s = ops_stack();
  s.sim_reset();
  connect_user(s, "ops-rot");
  const std::string old_key = s.env.at("TOKEN_ENCRYPTION_KEY");
  const std::string new_key = amo::crypto::base64_encode(amo::crypto::random_bytes(32));
  const std::string new_id = amo::crypto::key_from_base64(new_key)->id;
  std::map<std::string, std::string> rotated = {{"TOKEN_ENCRYPTION_KEY", new_key},
                                                {"TOKEN_ENCRYPTION_PREVIOUS_KEYS", old_key}};
  // Step 1: the new key is current, the old one still readable: old rows keep working.
  s.restart_server(0, rotated);
  BOOST_TEST(http_get(s.api("/test"), {s.auth("ops-rot")}).status == 200);
  // Step 2: re-encrypt everything.
  auto env = s.env;
  for (auto& [k, v] : rotated) env[k] = v;
  std::string out;
  BOOST_TEST(run({bin_path("amo-connect"), "rotate-keys"}, &out, env) == 0, out);
  BOOST_TEST(out.find("re-encrypted with key " + new_id) != std::string::npos, out);
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE key_id <> '" + new_id + "'") ==
             "0");
  // Step 3: the old key can go.
  s.restart_server(0, {{"TOKEN_ENCRYPTION_KEY", new_key}});
  BOOST_TEST(http_get(s.api("/test"), {s.auth("ops-rot")}).status == 200);
  // Without the key a row cannot be read: the user is asked to connect again, nothing leaks.
  s.restart_server(0);
  auto r = http_get(s.api("/test"), {s.auth("ops-rot")});
  BOOST_TEST(r.status == 409);
  BOOST_TEST(error_code(r) == "reauthorization_required");
  // Put the stack back on its own key for the cases that follow.
  run({bin_path("amo-connect"), "rotate-keys"}, &out, [&] {
    auto e = s.env;
    e["TOKEN_ENCRYPTION_PREVIOUS_KEYS"] = new_key;
    return e;
  }());
}

BOOST_AUTO_TEST_CASE(metrics_pass_promtool) {
  auto& s = ops_stack();
  s.sim_reset();
  connect_user(s, "ops-metrics");
  http_get(s.api("/leads"), {s.auth("ops-metrics")});
  auto m = http_get(s.base + "/metrics");
  BOOST_REQUIRE_EQUAL(m.status, 200);
  for (auto name :
       {"amo_build_info", "amo_http_requests_total", "amo_http_request_duration_seconds_bucket",
        "amo_upstream_requests_total{endpoint=\"api/v4/leads\",status=\"200\"}",
        "amo_upstream_requests_total{endpoint=\"oauth2/"
        "access_token:authorization_code\",status=\"200\"}",
        "amo_db_pool_size", "amo_db_pool_in_use", "amo_db_pool_wait_seconds_total"})
    BOOST_TEST_CONTEXT(name) { BOOST_TEST(m.body.find(name) != std::string::npos); }
  std::string path = s.dir + "/metrics.txt";
  {
    std::ofstream f(path);
    f << m.body;
  }
  std::string out;
  int rc = run({"bash", "-c", "promtool check metrics < " + path}, &out);
  BOOST_TEST(rc == 0, out);
}

BOOST_AUTO_TEST_CASE(request_log_lines_and_no_secret_anywhere) {
  auto& s = ops_stack();
  s.sim_reset();
  // A full run: connect through the callback, exchange-code, leads with a refresh,
  // API-key exchange, disconnect.
  auto g = issue_code(s);
  auto state = new_state(s, "ops-log");
  BOOST_REQUIRE_EQUAL(http_get(callback_url(s, g.code, state, g.referer)).status, 200);
  // The code the callback redeemed, presented again by its user: 200, connected.
  auto exchanged =
      http("POST", s.api("/exchange-code"), {s.auth("ops-log"), "Content-Type: application/json"},
           "{\"code\":\"" + g.code + "\"}");
  BOOST_TEST(exchanged.status == 200, exchanged.body);
  BOOST_TEST(body_json(exchanged)["data"]["connected"].IsTrue());
  s.pg->psql("UPDATE amo_connection SET expires_at = now() WHERE user_id = 'ops-log'");
  BOOST_TEST(http_get(s.api("/leads"), {s.auth("ops-log")}).status == 200);
  const std::string api_key = "api-key-" + amo::crypto::hex(amo::crypto::random_bytes(8));
  auto accepted = http("POST", s.api("/exchange-api-key"),
                       {s.auth("ops-log-2"), "Content-Type: application/json"},
                       "{\"login\":\"ops@example.com\",\"api_key\":\"" + api_key + "\"}");
  BOOST_TEST(accepted.status == 202, accepted.body);
  // amoCRM delivers the code to the callback, which answers 200 and connects ops-log-2.
  for (int i = 0; i < 400 && counter(s, "last_delivery_status") == 0; ++i) sleep_ms(50);
  BOOST_TEST(counter(s, "last_delivery_status") == 200);
  BOOST_TEST(
      body_json(http_get(s.api("/status"), {s.auth("ops-log-2")}))["data"]["connected"].IsTrue());
  std::string row = s.pg->psql(
      "SELECT encode(access_token_enc,'hex') FROM amo_connection WHERE user_id = 'ops-log'");
  BOOST_REQUIRE_GE(row.size(), 64u);  // nonce, ciphertext and tag, hex: looked for below
  auto disconnected = http("POST", s.api("/disconnect"), {s.auth("ops-log")});
  BOOST_TEST(disconnected.status == 200, disconnected.body);
  BOOST_TEST(body_json(disconnected)["data"]["connected"].IsFalse());
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = 'ops-log'") == "0");

  std::string logs = s.all_logs();
  // One JSON line per request with the fields operators rely on, upstream calls included.
  BOOST_TEST(logs.find("\"msg\":\"request\"") != std::string::npos);
  BOOST_TEST(logs.find("\"route\":\"/leads\",\"status\":200") != std::string::npos);
  BOOST_TEST(
      logs.find(
          "\"upstream\":[{\"endpoint\":\"oauth2/access_token:refresh_token\",\"status\":200") !=
      std::string::npos);
  BOOST_TEST(logs.find("\"request_id\":\"") != std::string::npos);
  for (auto secret :
       {s.token("ops-log"), s.env.at("JWT_SECRET"), s.env.at("AMO_CLIENT_SECRET"),
        s.env.at("TOKEN_ENCRYPTION_KEY"), g.code, state, api_key, row.substr(0, 32)}) {
    BOOST_TEST_CONTEXT(secret.substr(0, 12)) { BOOST_TEST(logs.find(secret) == std::string::npos); }
  }
  BOOST_TEST(logs.find("eyJ") == std::string::npos);  // no JWT of any kind
}

BOOST_AUTO_TEST_CASE(check_config_and_startup_errors) {
  auto& s = ops_stack();
  std::string out;
  BOOST_TEST(run({bin_path("amo-connect"), "check-config"}, &out, s.env) == 0, out);
  BOOST_TEST(out.find("database: ok") != std::string::npos);
  BOOST_TEST(out.find("AMO_DOMAIN=reforyou.amocrm.ru") != std::string::npos);
  for (auto k : {"JWT_SECRET", "AMO_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY"}) BOOST_TEST_CONTEXT(k) {
      BOOST_TEST(out.find(s.env.at(k)) == std::string::npos);
    }
  // A missing or malformed value stops start-up with one line naming the variable.
  auto env = s.env;
  env["JWT_SECRET"] = "short";
  std::string err;
  BOOST_TEST(run({bin_path("amo-connect"), "serve"}, &err, env) == 2);
  BOOST_TEST(err.find("JWT_SECRET") != std::string::npos, err);
  BOOST_TEST(std::count(err.begin(), err.end(), '\n') == 1, err);
  env = s.env;
  env["TOKEN_ENCRYPTION_KEY"] = "";
  BOOST_TEST(run({bin_path("amo-connect"), "check-config"}, &err, env) == 2);
  BOOST_TEST(err.find("TOKEN_ENCRYPTION_KEY") != std::string::npos, err);
  // The database unreachable: check-config says so and fails.
  env = s.env;
  env["DATABASE_URL"] = "postgresql:///nope?host=/nonexistent";
  BOOST_TEST(run({bin_path("amo-connect"), "check-config"}, &err, env) == 1);
  BOOST_TEST(err.find("database check failed") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(amocrm_unreachable) {
  auto& s = ops_stack();
  s.sim_reset();
  connect_user(s, "ops-down");
  auto g = issue_code(s);
  auto state = new_state(s, "ops-down-2");
  s.restart_server(0, {{"AMO_BASE_URL", "http://127.0.0.1:1"}});
  auto r = http_get(s.api("/test"), {s.auth("ops-down")});
  BOOST_TEST(r.status == 503);
  BOOST_TEST(error_code(r) == "amo_unavailable");
  BOOST_TEST(!r.header("retry-after").empty());
  auto page = http_get(callback_url(s, g.code, state, g.referer));
  BOOST_TEST(page.status == 503);  // exchange_failed, because amoCRM is unavailable
  BOOST_TEST(page.header("retry-after") == "5");
  BOOST_TEST(page.body.find("error=exchange_failed") != std::string::npos);
  BOOST_TEST(page.body.find("temporarily unavailable") != std::string::npos);
  s.restart_server(0);
  // The state was given back after the transient failure: the same link works now.
  BOOST_TEST(http_get(callback_url(s, g.code, state, g.referer)).status == 200);
  BOOST_TEST(http_get(s.api("/test"), {s.auth("ops-down")}).status == 200);
}

// refresh-due runs in a process of its own (systemd timer): each run is recorded in
// PostgreSQL, and the serving process exports the last ones and the connections awaiting
// re-authorization, read at scrape time.
BOOST_AUTO_TEST_CASE(refresh_due_runs_and_needs_reauth_in_metrics) {
  auto& s = ops_stack();
  s.sim_reset();
  s.pg->psql("DELETE FROM amo_job_run");
  s.pg->psql("DELETE FROM amo_connection");  // the counts below are then exact
  for (auto u : {"ops-due-1", "ops-due-2", "ops-due-3", "ops-due-4"}) connect_user(s, u);
  auto due = [&](const std::string& users) {
    s.pg->psql(
        "UPDATE amo_connection SET last_refresh_at = now() - interval '40 days' WHERE "
        "user_id IN (" +
        users + ")");
  };

  auto m = scrape(s);
  BOOST_TEST(sample(m, "amo_db_up") == "1");
  BOOST_TEST(sample(m, "amo_connections_needs_reauth") == "0");
  BOOST_TEST(!has_family(m, "amo_refresh_due_last_success_timestamp_seconds"));
  BOOST_TEST(!has_family(m, "amo_refresh_due_last_run_timestamp_seconds"));

  // A run in which every refresh succeeds.
  due("'ops-due-1'");
  int64_t before = std::time(nullptr);
  refresh_due(s, "1 due, 1 refreshed, 0 need re-authorization, 0 failed", 0);
  int64_t after = std::time(nullptr);
  m = scrape(s);
  std::string success = sample(m, "amo_refresh_due_last_success_timestamp_seconds");
  BOOST_REQUIRE(!success.empty());
  BOOST_TEST(std::stoll(success) >= before);
  BOOST_TEST(std::stoll(success) <= after);
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_timestamp_seconds") == success);
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"due\"}") == "1");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"refreshed\"}") == "1");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"reauth\"}") == "0");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"failed\"}") == "0");
  BOOST_TEST(sample(m, "amo_connections_needs_reauth") == "0");

  // amoCRM is unavailable for the token endpoint: the run fails (exit 1, no new success on
  // record) and the connection it found due is unchanged.
  due("'ops-due-1'");
  const std::string unchanged = s.pg->psql(
      "SELECT access_token_enc, refresh_token_enc, token_version FROM amo_connection WHERE user_id "
      "= "
      "'ops-due-1'");
  sim_post(s, "/_sim/knobs",
           R"({"fail_next":{"endpoint":"token_refresh","status":503,"count":50}})");
  sleep_ms(1100);  // the timestamps below have a resolution of a second
  before = std::time(nullptr);
  refresh_due(s, "1 due, 0 refreshed, 0 need re-authorization, 1 failed", 1);
  after = std::time(nullptr);
  sim_post(s, "/_sim/knobs", R"({"fail_next":null})");
  m = scrape(s);
  BOOST_TEST(sample(m, "amo_refresh_due_last_success_timestamp_seconds") == success);
  std::string last = sample(m, "amo_refresh_due_last_run_timestamp_seconds");
  BOOST_REQUIRE(!last.empty());
  BOOST_TEST(std::stoll(last) >= before);
  BOOST_TEST(std::stoll(last) <= after);
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"failed\"}") == "1");
  BOOST_TEST(sample(m, "amo_connections_needs_reauth") == "0");
  BOOST_TEST(
      s.pg->psql("SELECT access_token_enc, refresh_token_enc, token_version FROM amo_connection "
                 "WHERE user_id = 'ops-due-1'") == unchanged);
  s.pg->psql("UPDATE amo_connection SET last_refresh_at = now() WHERE user_id = 'ops-due-1'");

  // amoCRM refuses three refresh tokens (the users revoked the integration): those
  // connections now wait for their users to connect again. That is the users' doing, not
  // a failed run: exit 0, and a new success on record.
  sim_post(s, "/_sim/revoke-refresh");
  due("'ops-due-2', 'ops-due-3', 'ops-due-4'");
  sleep_ms(1100);
  before = std::time(nullptr);
  refresh_due(s, "3 due, 0 refreshed, 3 need re-authorization, 0 failed", 0);
  after = std::time(nullptr);
  m = scrape(s);
  BOOST_TEST(sample(m, "amo_connections_needs_reauth") == "3");
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE needs_reauth") == "3");
  success = sample(m, "amo_refresh_due_last_success_timestamp_seconds");
  BOOST_REQUIRE(!success.empty());
  BOOST_TEST(std::stoll(success) >= before);
  BOOST_TEST(std::stoll(success) <= after);
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_timestamp_seconds") == success);
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"due\"}") == "3");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"refreshed\"}") == "0");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"reauth\"}") == "3");
  BOOST_TEST(sample(m, "amo_refresh_due_last_run_connections{result=\"failed\"}") == "0");
  BOOST_TEST(s.pg->psql("SELECT count(*), count(*) FILTER (WHERE ok), sum(due), sum(refreshed), "
                        "sum(reauth), sum(failed) FROM amo_job_run WHERE job = 'refresh-due'") ==
             "3|2|5|1|3|1");
}

// The benchmark's refresh-due rows (tools/bench_rows.cpp, sealed with oauth::seal outside the
// OAuth flow) are read by the server, and the simulator's seeded refresh tokens accept them:
// every one is refreshed. Without the seed amoCRM rejects them all.
BOOST_AUTO_TEST_CASE(bench_rows_are_refreshed_by_refresh_due) {
  auto& s = ops_stack();
  s.sim_reset();
  s.pg->psql("DELETE FROM amo_connection");
  auto account = body_json(http("POST", s.sim + "/_sim/issue-code",
                                {"Content-Type: application/json"}, "{}"))["account_id"]
                     .GetInt64();
  auto load = [&](const std::string& users, const std::string& tokens) {
    std::string out, rows = s.dir + "/bench-rows-" + users + "txt";
    int rc = run({"bash", "-c",
                  bin_path("amo-bench-rows") + " " + users + " 3 " + tokens + " " +
                      std::to_string(account) + " " + s.env.at("AMO_DOMAIN") + " > " + rows},
                 &out, s.env);
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    s.pg->psql(
        "\\copy amo_connection (user_id, account_id, domain, account_name, "
        "access_token_enc, refresh_token_enc, key_id, expires_at, last_refresh_at) "
        "FROM '" +
        rows + "'");
  };
  load("bench-unseeded-", "bench-rt-unseeded-");
  refresh_due(s, "3 due, 0 refreshed, 3 need re-authorization, 0 failed", 0);
  sim_post(s, "/_sim/seed-refresh", R"({"prefix":"bench-rt-","count":3})");
  load("bench-user-", "bench-rt-");
  refresh_due(s, "3 due, 3 refreshed, 0 need re-authorization, 0 failed", 0);
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id LIKE 'bench-user-%' "
                        "AND token_version = 1 AND NOT needs_reauth") == "3");
  BOOST_TEST(counter(s, "token_refresh_token") == 6);
  s.pg->psql("DELETE FROM amo_connection");
}

// Without the database /metrics still answers: amo_db_up 0, the database's gauges left out.
BOOST_AUTO_TEST_CASE(metrics_without_the_database) {
  auto& s = ops_stack();
  s.pg->stop();
  auto m = http_get(s.base + "/metrics");
  s.pg->start();
  BOOST_REQUIRE_EQUAL(m.status, 200);
  BOOST_TEST(sample(m.body, "amo_db_up") == "0");
  BOOST_TEST(!sample(m.body, "amo_db_pool_size").empty());
  for (auto name :
       {"amo_connections_needs_reauth", "amo_refresh_due_last_success_timestamp_seconds",
        "amo_refresh_due_last_run_timestamp_seconds"})
    BOOST_TEST_CONTEXT(name) { BOOST_TEST(!has_family(m.body, name)); }
  std::string path = s.dir + "/metrics-nodb.txt";
  {
    std::ofstream f(path);
    f << m.body;
  }
  std::string out;
  BOOST_TEST(run({"bash", "-c", "promtool check metrics < " + path}, &out) == 0, out);
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    back = sample(scrape(s), "amo_db_up") == "1";
    if (!back) sleep_ms(50);
  }
  BOOST_TEST(back);
}

// Every metric that contrib/prometheus/amo-connect.rules.yml reads is exported by the
// service, with the labels the rules select on; a renamed metric would silence an alert.
BOOST_AUTO_TEST_CASE(rules_use_exported_metrics) {
  auto& s = ops_stack();
  s.sim_reset();
  connect_user(s, "ops-rules");
  http_get(s.api("/leads"), {s.auth("ops-rules")});
  s.pg->psql("UPDATE amo_connection SET last_refresh_at = now()");
  refresh_due(s, "0 due, 0 refreshed, 0 need re-authorization, 0 failed",
              0);  // a success on record
  auto m = scrape(s);

  // The text of every `expr:` (continuation lines are indented deeper than the key).
  std::istringstream in(read_file(src_path("contrib/prometheus/amo-connect.rules.yml")));
  std::string line, exprs;
  size_t expr_indent = std::string::npos;
  while (std::getline(in, line)) {
    size_t ind = line.find_first_not_of(' ');
    if (ind == std::string::npos) continue;
    if (line.compare(ind, 5, "expr:") == 0) {
      expr_indent = ind;
      exprs += line.substr(ind + 5) + "\n";
    } else if (expr_indent != std::string::npos && ind > expr_indent) {
      exprs += line + "\n";
    } else {
      expr_indent = std::string::npos;
    }
  }
  // Identifiers: metric names start with amo_; recording rules (job:amo_...) have colons.
  static const std::regex kIdent(R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?)");
  static const std::regex kMatcher(R"(([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=))");
  std::map<std::string, std::set<std::string>> used;  // metric → label names selected on
  for (std::sregex_iterator it(exprs.begin(), exprs.end(), kIdent), end; it != end; ++it) {
    std::string tok = it->str();
    std::string name = tok.substr(0, tok.find('{'));
    if (name.rfind("amo_", 0) != 0 || name.find(':') != std::string::npos) continue;
    auto& labels = used[name];
    std::string sel = (*it)[1].str();
    for (std::sregex_iterator l(sel.begin(), sel.end(), kMatcher); l != end; ++l)
      labels.insert((*l)[1].str());
  }
  BOOST_TEST_MESSAGE("metrics in the rules: " << used.size());
  BOOST_REQUIRE(used.size() >= 5u);
  BOOST_TEST(used.count("amo_refresh_due_last_success_timestamp_seconds") == 1u);
  BOOST_TEST(used.count("amo_connections_needs_reauth") == 1u);
  for (auto& [name, labels] : used) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(has_family(m, name), name << " has no # TYPE line in /metrics");
      for (auto& label : labels)  // names are [a-z0-9_]: nothing to escape
        BOOST_TEST(std::regex_search(m, std::regex("\n" + name + "\\{([^}]*,)?" + label + "=\"")),
                   name << " has no sample with the label " << label);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
