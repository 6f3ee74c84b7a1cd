// `amo-connect connections list|show|disconnect|refresh` against the real stack, run with
// the servers' configuration but DATABASE_URL of the service's least-privilege role
// (sql/grants.sql): list filters and JSON, show without any secret, disconnect as the
// app's, refresh through the single-flight path (one refresh at amoCRM however many ask),
// and a rejected refresh marking the connection needs-reauth.
#include <boost/test/unit_test.hpp>
#include <thread>

#include "crypto/crypto.hpp"
#include "e2e_util.hpp"

using namespace amo::test;

namespace {

Stack& admin_stack() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    s = std::make_unique<Stack>();
    std::atexit([] { s.reset(); });
  }
  return *s;
}

// The servers' environment with DATABASE_URL of a role that has exactly sql/grants.sql.
const std::map<std::string, std::string>& app_role_env() {
  static std::map<std::string, std::string> env;
  if (!env.empty()) return env;
  auto& s = admin_stack();
  s.pg->psql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'amo_admin_svc') THEN "
      "CREATE ROLE amo_admin_svc LOGIN; END IF; END $$");
  std::string out;
  int rc = run({"psql", s.pg->url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v",
                "role=amo_admin_svc", "-f", src_path("sql/grants.sql")},
               &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::string url = s.pg->url();
  auto at = url.find("user=postgres");
  BOOST_REQUIRE(at != std::string::npos);
  url.replace(at, 13, "user=amo_admin_svc");
  // It really is that role, and not a superuser.
  BOOST_REQUIRE_EQUAL(run({"psql", url, "-X", "-q", "-t", "-A", "-c",
                           "SELECT current_user || ' ' || rolsuper FROM pg_roles WHERE rolname "
                           "= current_user"},
                          &out),
                      0);
  BOOST_REQUIRE_EQUAL(out, "amo_admin_svc false\n");
  env = s.env;
  env["DATABASE_URL"] = url;
  env["LOG_LEVEL"] = "warn";
  return env;
}

struct Cli {
  int rc = -1;
  std::string out, err;
};

Cli cli(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) {
  auto env = app_role_env();
  for (auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> argv = {bin_path("amo-connect"), "connections"};
  argv.insert(argv.end(), args.begin(), args.end());
  Cli c;
  c.rc = run_split(argv, &c.out, &c.err, env);
  return c;
}

rapidjson::Document json_of(const Cli& c) {
  rapidjson::Document d;
  d.Parse(c.out.c_str());
  BOOST_REQUIRE_MESSAGE(!d.HasParseError(), "not JSON: " << c.out << c.err);
  return d;
}

std::vector<std::string> users_of(const rapidjson::Document& d) {
  std::vector<std::string> out;
  BOOST_REQUIRE(d.IsArray());
  for (auto& c : d.GetArray()) out.push_back(c["user"].GetString());
  return out;
}

// The expiry the database holds, as the CLI prints it.
std::string stored_expiry(Stack& s, const std::string& user) {
  return s.pg->psql(
      "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM "
      "amo_connection WHERE user_id = '" +
      user + "'");
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

struct Stored {
  std::string access, refresh;          // the tokens in clear
  std::string access_hex, refresh_hex;  // as stored (ciphertext)
};
Stored stored_tokens(Stack& s, const std::string& user) {
  std::string row = s.pg->psql(
      "SELECT encode(access_token_enc,'hex') || ' ' || encode(refresh_token_enc,'hex') || ' ' || "
      "key_id FROM amo_connection WHERE user_id = '" +
      user + "'");
  auto sp1 = row.find(' '), sp2 = row.rfind(' ');
  BOOST_REQUIRE(sp1 != std::string::npos && sp2 > sp1);
  amo::crypto::TokenCipher cipher(*amo::crypto::key_from_base64(s.env.at("TOKEN_ENCRYPTION_KEY")));
  Stored t;
  t.access_hex = row.substr(0, sp1);
  t.refresh_hex = row.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string key_id = row.substr(sp2 + 1);
  t.access = cipher.decrypt(unhex(t.access_hex), key_id, user + "|access");
  t.refresh = cipher.decrypt(unhex(t.refresh_hex), key_id, user + "|refresh");
  return t;
}

// What amoCRM answers to a refresh with `refresh_token`.
HttpResult sim_refresh(Stack& s, const std::string& refresh_token) {
  return http("POST", s.sim + "/oauth2/access_token", {"Content-Type: application/json"},
              "{\"client_id\":\"" + s.env.at("AMO_CLIENT_ID") + "\",\"client_secret\":\"" +
                  s.env.at("AMO_CLIENT_SECRET") +
                  "\",\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + refresh_token +
                  "\",\"redirect_uri\":\"" + s.env.at("AMO_REDIRECT_URI") + "\"}");
}

rapidjson::Document app_status(Stack& s, const std::string& user) {
  auto r = http_get(s.api("/status"), {s.auth(user)});
  BOOST_REQUIRE_EQUAL(r.status, 200);
  return body_json(r);
}

std::string count(Stack& s, const std::string& where) {
  return s.pg->psql("SELECT count(*) FROM amo_audit_log WHERE " + where);
}

struct Fresh {
  Fresh() {
    admin_stack().sim_reset();
    admin_stack().pg->psql("DELETE FROM amo_rate_limit");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(admin)

BOOST_FIXTURE_TEST_CASE(list_filters_and_json, Fresh) {
  auto& s = admin_stack();
  s.pg->psql("DELETE FROM amo_connection");  // the lists below are then exact
  for (auto u : {"ls-1", "ls-2", "ls-3", "ls-4"}) connect_user(s, u);
  s.pg->psql("UPDATE amo_connection SET domain = 'other.kommo.com' WHERE user_id = 'ls-2'");
  s.pg->psql(
      "UPDATE amo_connection SET last_refresh_at = now() - interval '40 days' WHERE user_id = "
      "'ls-3'");
  s.pg->psql("UPDATE amo_connection SET needs_reauth = true WHERE user_id = 'ls-4'");

  auto table = cli({"list"});
  BOOST_TEST_MESSAGE(table.out);
  BOOST_TEST(table.rc == 0, table.err);
  BOOST_TEST(table.out.rfind("USER ", 0) == 0u);
  for (auto u : {"ls-1 ", "ls-2 ", "ls-3 ", "ls-4 "})
    BOOST_TEST(table.out.find(std::string("\n") + u) != std::string::npos, u);
  BOOST_TEST(table.out.find("31920194 ForYou Real Estate") != std::string::npos);
  BOOST_TEST(table.out.find("\n4 connections\n") != std::string::npos);

  auto all = cli({"list", "--json"});
  BOOST_TEST(all.rc == 0, all.err);
  auto d = json_of(all);
  BOOST_TEST((users_of(d) == std::vector<std::string>{"ls-1", "ls-2", "ls-3", "ls-4"}));
  auto& first = d[0];
  BOOST_TEST(std::string(first["host"].GetString()) == "reforyou.amocrm.ru");
  BOOST_TEST(first["accountId"].GetInt64() == 31920194);
  BOOST_TEST(std::string(first["accountName"].GetString()) == "ForYou Real Estate");
  BOOST_TEST(std::string(first["status"].GetString()) == "connected");
  BOOST_TEST(first["needsReauth"].IsFalse());
  BOOST_TEST(std::string(first["expiresAt"].GetString()) == stored_expiry(s, "ls-1"));
  BOOST_TEST(first["lastRefreshAt"].IsString());
  BOOST_TEST(std::string(d[3]["status"].GetString()) == "needs_reauth");
  BOOST_TEST(d[3]["needsReauth"].IsTrue());

  auto only = [&](std::vector<std::string> args) {
    args.push_back("--json");
    auto c = cli(args);
    BOOST_TEST(c.rc == 0, c.err);
    return users_of(json_of(c));
  };
  BOOST_TEST((only({"list", "--needs-reauth"}) == std::vector<std::string>{"ls-4"}));
  BOOST_TEST((only({"list", "--host", "Other.KOMMO.com"}) == std::vector<std::string>{"ls-2"}));
  BOOST_TEST((only({"list", "--host", "reforyou.amocrm.ru"}) ==
              std::vector<std::string>{"ls-1", "ls-3", "ls-4"}));
  BOOST_TEST((only({"list", "--stale-days", "30"}) == std::vector<std::string>{"ls-3"}));
  BOOST_TEST((only({"list", "--stale-days", "30", "--needs-reauth"}).empty()));
  BOOST_TEST((only({"list", "--stale-days", "41"}).empty()));

  // Bounded: the first N in user order, and it says so.
  auto cut = cli({"list", "--limit", "2"});
  BOOST_TEST(cut.rc == 0, cut.err);
  BOOST_TEST(cut.out.find("\n2 connections shown; more match") != std::string::npos, cut.out);
  BOOST_TEST(cut.out.find("ls-3") == std::string::npos);
  auto cut_json = cli({"list", "--limit", "2", "--json"});
  BOOST_TEST(cut_json.rc == 0);
  BOOST_TEST((users_of(json_of(cut_json)) == std::vector<std::string>{"ls-1", "ls-2"}));
  BOOST_TEST(cut_json.err.find("showing the first 2 connections; more match") != std::string::npos,
             cut_json.err);
  auto exact = cli({"list", "--limit", "4"});
  BOOST_TEST(exact.out.find("more match") == std::string::npos);
  BOOST_TEST(exact.err.empty(), exact.err);
}

BOOST_FIXTURE_TEST_CASE(usage_and_database_errors, Fresh) {
  // Usage errors: exit 2 and one clear line, before the configuration is even read.
  auto bad_host = cli({"list", "--host", "evil.com/x"}, {{"JWT_SECRET", ""}});
  BOOST_TEST(bad_host.rc == 2);
  BOOST_TEST(bad_host.err.find("--host must be a host name") != std::string::npos, bad_host.err);
  for (const std::string& hostile : {std::string("\xC3\x28"), std::string("a\nforged line"),
                                     std::string("\x1b[2J"), std::string(129, 'u')}) {
    auto c = cli({"show", hostile});
    BOOST_TEST(c.rc == 2);
    BOOST_TEST(c.err.find("USER must be 1 to 128 bytes of UTF-8") != std::string::npos, c.err);
    BOOST_TEST(c.err.find(hostile) == std::string::npos);
    BOOST_TEST(c.out.empty());
  }
  auto none = cli({});
  BOOST_TEST(none.rc == 2);
  BOOST_TEST(none.err.find("connections list [--needs-reauth]") != std::string::npos, none.err);
  // The configuration as `serve` reads it: an error in it is exit 2 too.
  auto cfg = cli({"list"}, {{"JWT_SECRET", "short"}});
  BOOST_TEST(cfg.rc == 2);
  BOOST_TEST(cfg.err.find("configuration error: JWT_SECRET") != std::string::npos, cfg.err);
  // The database unreachable: exit 1, says so.
  auto db = cli({"list"}, {{"DATABASE_URL", "postgresql:///nope?host=/nonexistent"}});
  BOOST_TEST(db.rc == 1);
  BOOST_TEST(db.err.find("database unreachable") != std::string::npos, db.err);
}

BOOST_FIXTURE_TEST_CASE(show_prints_no_secret, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "sh-1");
  BOOST_REQUIRE_EQUAL(http_get(s.api("/test"), {s.auth("sh-1")}).status, 200);
  auto t = stored_tokens(s, "sh-1");
  BOOST_REQUIRE_GE(t.access.size(), 32u);
  BOOST_REQUIRE_GE(t.refresh.size(), 32u);

  auto text = cli({"show", "sh-1"});
  BOOST_TEST_MESSAGE(text.out);
  BOOST_TEST(text.rc == 0, text.err);
  BOOST_TEST(text.out.find("user:          sh-1\n") != std::string::npos);
  BOOST_TEST(text.out.find("status:        connected\n") != std::string::npos);
  BOOST_TEST(text.out.find("host:          reforyou.amocrm.ru\n") != std::string::npos);
  BOOST_TEST(text.out.find("account:       31920194 ForYou Real Estate\n") != std::string::npos);
  BOOST_TEST(text.out.find("token expires: " + stored_expiry(s, "sh-1") + "\n") !=
             std::string::npos);
  BOOST_TEST(text.out.find("needs reauth:  no\n") != std::string::npos);
  BOOST_TEST(text.out.find("  connect  account 31920194") != std::string::npos);

  auto js = cli({"show", "sh-1", "--json"});
  BOOST_TEST(js.rc == 0, js.err);
  auto d = json_of(js);
  BOOST_TEST(std::string(d["user"].GetString()) == "sh-1");
  BOOST_TEST(std::string(d["connection"]["status"].GetString()) == "connected");
  BOOST_TEST(std::string(d["connection"]["expiresAt"].GetString()) == stored_expiry(s, "sh-1"));
  BOOST_TEST(d["lastError"].IsNull());
  BOOST_REQUIRE(d["events"].IsArray());
  BOOST_REQUIRE_GE(d["events"].Size(), 1u);
  BOOST_TEST(std::string(d["events"][0]["event"].GetString()) == "connect");

  // No token, no ciphertext, no configured secret, in any output of any command.
  auto list = cli({"list", "--json"});
  auto list_table = cli({"list"});
  std::string all = text.out + text.err + js.out + js.err + list.out + list.err + list_table.out;
  auto b64 = [](const std::string& hex) { return amo::crypto::base64_encode(unhex(hex)); };
  for (const std::string& secret :
       {t.access, t.refresh, t.access.substr(0, 24), t.refresh.substr(0, 24), t.access_hex,
        t.refresh_hex, t.access_hex.substr(0, 32), t.refresh_hex.substr(0, 32),
        b64(t.access_hex).substr(0, 24), b64(t.refresh_hex).substr(0, 24),
        s.env.at("TOKEN_ENCRYPTION_KEY"), s.env.at("AMO_CLIENT_SECRET"), s.env.at("JWT_SECRET"),
        std::string("eyJ")})
    BOOST_TEST_CONTEXT(secret.substr(0, 8)) { BOOST_TEST(all.find(secret) == std::string::npos); }

  // Someone without a connection: said so, exit 1; what the log knows is still shown.
  auto ghost = cli({"show", "sh-ghost"});
  BOOST_TEST(ghost.rc == 1);
  BOOST_TEST(ghost.err == "amo-connect: no connection for sh-ghost\n");
  BOOST_TEST(ghost.out.find("status:        none (no connection)\n") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(disconnect_is_the_apps_and_audited, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "dc-1");
  connect_user(s, "dc-2");
  BOOST_REQUIRE(app_status(s, "dc-1")["data"]["connected"].IsTrue());
  BOOST_REQUIRE_EQUAL(http_get(s.api("/leads"), {s.auth("dc-1")}).status, 200);  // stored

  auto c = cli({"disconnect", "dc-1"});
  BOOST_TEST(c.rc == 0, c.err);
  BOOST_TEST(c.out == "disconnected dc-1\n");
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = 'dc-1'") == "0");
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_response_store WHERE user_id = 'dc-1'") == "0");
  BOOST_TEST(count(s,
                   "event = 'disconnect' AND user_id = 'dc-1' AND detail->>'actor' = 'cli' "
                   "AND account_id = 31920194") == "1");
  auto st = app_status(s, "dc-1");
  BOOST_TEST(st["data"]["connected"].IsFalse());
  BOOST_TEST(st["data"]["hasTokens"].IsFalse());
  BOOST_TEST(http_get(s.api("/leads"), {s.auth("dc-1")}).status == 409);
  // Only that user.
  BOOST_TEST(app_status(s, "dc-2")["data"]["connected"].IsTrue());

  // Nothing left to disconnect: exit 1, a clear line, no second audit row.
  auto again = cli({"disconnect", "dc-1"});
  BOOST_TEST(again.rc == 1);
  BOOST_TEST(again.err == "amo-connect: no connection for dc-1\n");
  BOOST_TEST(again.out.empty());
  BOOST_TEST(count(s, "event = 'disconnect' AND user_id = 'dc-1'") == "1");
  // show tells the story.
  auto shown = cli({"show", "dc-1"});
  BOOST_TEST(shown.rc == 1);
  BOOST_TEST(
      shown.out.find("  disconnect  account 31920194  {\"actor\": \"cli\"}") != std::string::npos,
      shown.out);
}

BOOST_FIXTURE_TEST_CASE(refresh_rotates_the_pair_once, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "rf-1");
  auto old = stored_tokens(s, "rf-1");
  BOOST_REQUIRE_EQUAL(counter(s, "token_refresh_token"), 0);
  int64_t issued = counter(s, "tokens_issued");

  auto c = cli({"refresh", "rf-1"});
  BOOST_TEST(c.rc == 0, c.err);
  BOOST_TEST(c.out == "refreshed rf-1: access token expires " + stored_expiry(s, "rf-1") + "\n");
  BOOST_TEST(counter(s, "token_refresh_token") == 1);
  BOOST_TEST(counter(s, "tokens_issued") == issued + 1);
  auto now = stored_tokens(s, "rf-1");
  BOOST_TEST(now.refresh != old.refresh);
  BOOST_TEST(now.access != old.access);
  BOOST_TEST(count(s, "event = 'refresh' AND user_id = 'rf-1' AND detail->>'actor' = 'cli'") ==
             "1");
  BOOST_TEST(c.out.find(now.access) == std::string::npos);
  // The old pair is dead at amoCRM, the new one works for the app.
  auto dead = sim_refresh(s, old.refresh);
  BOOST_TEST(dead.status == 401);
  BOOST_TEST(dead.body.find("Token has been revoked") != std::string::npos, dead.body);
  BOOST_TEST(http_get(s.sim + "/api/v4/account", {bearer(old.access)}).status == 401);
  BOOST_TEST(http_get(s.api("/test"), {s.auth("rf-1")}).status == 200);
  BOOST_TEST(s.pg->psql("SELECT needs_reauth FROM amo_connection WHERE user_id = 'rf-1'") == "f");

  auto ghost = cli({"refresh", "rf-ghost"});
  BOOST_TEST(ghost.rc == 1);
  BOOST_TEST(ghost.err == "amo-connect: no connection for rf-ghost\n");
}

// A refresh held up at amoCRM while a second `connections refresh` and an app request
// that needs a fresh token arrive: amoCRM sees one refresh, everyone uses its pair.
BOOST_FIXTURE_TEST_CASE(concurrent_refreshes_are_one, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "cc-1");
  s.pg->psql("UPDATE amo_connection SET expires_at = now() WHERE user_id = 'cc-1'");
  // The refresh waits 2 s at amoCRM, then is served (the pair rotates).
  sim_post(s, "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"token_refresh\",\"latency_ms\":2000,\"count\":1}}");
  const std::map<std::string, std::string> slow = {{"AMO_HTTP_TIMEOUT_MS", "15000"}};
  app_role_env();  // set up before the threads use it
  Cli first, second;
  HttpResult app;
  std::thread t1([&] { first = cli({"refresh", "cc-1"}, slow); });
  for (int i = 0; i < 400 && counter(s, "token_refresh_token") == 0; ++i) sleep_ms(25);
  BOOST_REQUIRE_EQUAL(counter(s, "token_refresh_token"), 1);  // held at amoCRM now
  std::thread t2([&] { second = cli({"refresh", "cc-1"}, slow); });
  std::thread t3([&] { app = http_get(s.api("/test"), {s.auth("cc-1")}); });
  t1.join();
  t2.join();
  t3.join();
  BOOST_TEST(first.rc == 0, first.err);
  BOOST_TEST(second.rc == 0, second.err);
  BOOST_TEST(app.status == 200, app.body);
  BOOST_TEST(counter(s, "token_refresh_token") == 1);
  BOOST_TEST(first.out == second.out);  // the same new expiry: the same refresh
  BOOST_TEST(first.out ==
             "refreshed cc-1: access token expires " + stored_expiry(s, "cc-1") + "\n");
  BOOST_TEST(s.pg->psql("SELECT needs_reauth FROM amo_connection WHERE user_id = 'cc-1'") == "f");
  BOOST_TEST(http_get(s.api("/test"), {s.auth("cc-1")}).status == 200);
  BOOST_TEST(counter(s, "token_refresh_token") == 1);
}

BOOST_FIXTURE_TEST_CASE(rejected_refresh_needs_reauth, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "rj-1");
  sim_post(s, "/_sim/revoke-refresh");
  auto c = cli({"refresh", "rj-1"});
  BOOST_TEST(c.rc == 1);
  BOOST_TEST(c.err.find("amoCRM rejected the refresh token of rj-1; the connection now needs "
                        "re-authorization") != std::string::npos,
             c.err);
  BOOST_TEST(c.out.empty());
  BOOST_TEST(counter(s, "token_refresh_token") == 1);
  BOOST_TEST(s.pg->psql("SELECT needs_reauth FROM amo_connection WHERE user_id = 'rj-1'") == "t");
  BOOST_TEST(count(s, "event = 'reauth_required' AND user_id = 'rj-1'") == "1");
  auto st = app_status(s, "rj-1");
  BOOST_TEST(st["data"]["needsReauth"].IsTrue());
  BOOST_TEST(st["data"]["connected"].IsFalse());

  auto listed = cli({"list", "--needs-reauth", "--json"});
  BOOST_TEST(listed.rc == 0);
  auto users = users_of(json_of(listed));
  BOOST_TEST((std::find(users.begin(), users.end(), "rj-1") != users.end()));
  auto shown = cli({"show", "rj-1", "--json"});
  BOOST_TEST(shown.rc == 0);
  auto d = json_of(shown);
  BOOST_TEST(std::string(d["connection"]["status"].GetString()) == "needs_reauth");
  BOOST_REQUIRE(d["lastError"].IsObject());
  BOOST_TEST(std::string(d["lastError"]["event"].GetString()) == "reauth_required");
  BOOST_TEST(d["lastError"]["detail"]["status"].GetInt() == 401);

  // Already marked: nothing is sent to amoCRM, and it says why.
  auto again = cli({"refresh", "rj-1"});
  BOOST_TEST(again.rc == 1);
  BOOST_TEST(again.err.find("rj-1 needs re-authorization") != std::string::npos, again.err);
  BOOST_TEST(counter(s, "token_refresh_token") == 1);
}

// amoCRM down: the refresh fails, the connection is left as it was.
BOOST_FIXTURE_TEST_CASE(transient_refresh_failure_changes_nothing, Fresh) {
  auto& s = admin_stack();
  connect_user(s, "tr-1");
  std::string version =
      s.pg->psql("SELECT token_version FROM amo_connection WHERE user_id = 'tr-1'");
  sim_post(s, "/_sim/knobs", "{\"fail_next\":{\"endpoint\":\"token_refresh\",\"status\":503}}");
  auto c = cli({"refresh", "tr-1"});
  BOOST_TEST(c.rc == 1);
  BOOST_TEST(c.err.find("amo_unavailable") != std::string::npos, c.err);
  BOOST_TEST(c.err.find("the connection is unchanged") != std::string::npos, c.err);
  BOOST_TEST(s.pg->psql("SELECT token_version || ' ' || needs_reauth FROM amo_connection WHERE "
                        "user_id = 'tr-1'") == version + " false");
  BOOST_TEST(http_get(s.api("/test"), {s.auth("tr-1")}).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
