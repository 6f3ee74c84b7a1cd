// Operations inside the server: graceful shutdown, key rotation, metrics format, and no
// secret in any log line of a full run.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
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
  http("POST", s.api("/exchange-code"), {s.auth("ops-log"), "Content-Type: application/json"},
       "{\"code\":\"" + g.code + "\"}");
  s.pg->psql("UPDATE amo_connection SET expires_at = now() WHERE user_id = 'ops-log'");
  BOOST_TEST(http_get(s.api("/leads"), {s.auth("ops-log")}).status == 200);
  const std::string api_key = "api-key-" + amo::crypto::hex(amo::crypto::random_bytes(8));
  http("POST", s.api("/exchange-api-key"), {s.auth("ops-log-2"), "Content-Type: application/json"},
       "{\"login\":\"ops@example.com\",\"api_key\":\"" + api_key + "\"}");
  for (int i = 0; i < 400 && counter(s, "last_delivery_status") == 0; ++i) sleep_ms(50);
  std::string row = s.pg->psql(
      "SELECT encode(access_token_enc,'hex') FROM amo_connection WHERE user_id = 'ops-log'");
  http("POST", s.api("/disconnect"), {s.auth("ops-log")});

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

BOOST_AUTO_TEST_SUITE_END()
