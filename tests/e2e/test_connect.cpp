// The connect flow (docs/API.md): auth-url, every callback branch, exchange-code, both
// disconnects, hostile input, tokens at rest.
#include <boost/test/unit_test.hpp>

#include "crypto/crypto.hpp"
#include "e2e_util.hpp"

using namespace amo::test;

namespace {
struct Fresh {
  Fresh() { shared_stack().sim_reset(); }
};
std::string page(const HttpResult& r) { return r.body; }
}  // namespace

BOOST_AUTO_TEST_SUITE(connect_flow)

BOOST_FIXTURE_TEST_CASE(auth_url_shape_and_single_use_state, Fresh) {
  auto& s = shared_stack();
  auto r = http_get(s.api("/auth-url", 1), {s.auth("cf-1")});
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto d = body_json(r);
  std::string url = d["data"]["url"].GetString();
  std::string state = d["data"]["state"].GetString();
  BOOST_TEST(state.size() >= 22u);  // ≥ 128 bits of base64url
  BOOST_TEST(url.rfind(s.sim + "/oauth?client_id=" + s.env.at("AMO_CLIENT_ID") + "&state=" + state +
                           "&mode=post_message",
                       0) == 0);
  BOOST_TEST(std::string(d["data"]["expiresAt"].GetString()).back() == 'Z');
  // Stored hashed, never in clear.
  BOOST_TEST(
      s.pg->psql("SELECT count(*) FROM amo_oauth_state WHERE encode(state_hash,'escape') LIKE '%" +
                 state + "%'") == "0");
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_oauth_state WHERE state_hash = sha256('" + state +
                        "'::bytea) AND user_id = 'cf-1'") == "1");
  BOOST_TEST(http_get(s.api("/auth-url")).status == 401);
}

BOOST_FIXTURE_TEST_CASE(callback_success_then_reload, Fresh) {
  auto& s = shared_stack();
  auto g = issue_code(s);
  auto state = new_state(s, "cf-ok");
  auto url = callback_url(s, g.code, state, g.referer);
  auto r = http_get(url);
  BOOST_REQUIRE_EQUAL(r.status, 200);
  BOOST_TEST(r.header("content-type") == "text/html; charset=utf-8");
  BOOST_TEST(r.header("cache-control") == "no-store");
  BOOST_TEST(r.header("referrer-policy") == "no-referrer");
  BOOST_TEST(r.header("x-content-type-options") == "nosniff");
  BOOST_TEST(r.header("x-frame-options") == "DENY");
  BOOST_TEST(r.header("content-security-policy").find("default-src 'none'") != std::string::npos);
  BOOST_TEST(page(r).find("Authorization successful!") != std::string::npos);
  BOOST_TEST(page(r).find("foryoure://amo-crm/callback?success=true&amp;state=" +
                          amo::http::url_encode(state)) != std::string::npos);
  BOOST_TEST(page(r).find(g.code) == std::string::npos);  // never the code
  BOOST_TEST(counter(s, "token_authorization_code") == 1);
  BOOST_TEST(counter(s, "account") == 1);
  // Tokens are stored before the page is rendered.
  auto st = body_json(http_get(s.api("/status"), {s.auth("cf-ok")}));
  BOOST_TEST(st["data"]["connected"].IsTrue());
  BOOST_TEST(std::string(st["data"]["accountId"].GetString()) == "31920194");
  BOOST_TEST(std::string(st["data"]["domain"].GetString()) == "reforyou.amocrm.ru");
  BOOST_TEST(std::string(st["data"]["accountName"].GetString()) == "ForYou Real Estate");
  // Reload: success again, amoCRM not called again.
  auto again = http_get(url);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(page(again).find("Authorization successful!") != std::string::npos);
  BOOST_TEST(counter(s, "token_authorization_code") == 1);
  BOOST_TEST(
      s.pg->psql(
          "SELECT count(*) FROM amo_audit_log WHERE event = 'connect' AND user_id = 'cf-ok'") ==
      "1");
}

BOOST_FIXTURE_TEST_CASE(callback_error_branches, Fresh) {
  auto& s = shared_stack();
  auto g = issue_code(s);
  auto state = new_state(s, "cf-err");
  auto expect = [&](const std::string& url, int status, const std::string& code,
                    const std::string& heading) {
    auto r = http_get(url);
    BOOST_TEST_CONTEXT(url) {
      BOOST_TEST(r.status == status);
      BOOST_TEST(page(r).find(heading) != std::string::npos);
      BOOST_TEST(page(r).find("foryoure://amo-crm/callback?error=" + code) != std::string::npos);
      BOOST_TEST(r.header("x-frame-options") == "DENY");
    }
  };
  std::string cb = s.api("/callback");
  std::string cid = "&client_id=" + s.env.at("AMO_CLIENT_ID");
  expect(cb + "?error=access_denied&state=" + state + cid, 400, "access_denied",
         "Authorization failed");
  expect(cb + "?state=" + state + cid, 400, "missing_code", "Authorization code is missing");
  expect(cb + "?code=" + g.code + "&state=unknown-state&referer=" + g.referer + cid, 400,
         "invalid_state", "Authorization failed");
  expect(cb + "?code=" + g.code + "&referer=" + g.referer + cid, 400, "invalid_state",
         "Authorization failed");
  expect(cb + "?code=" + g.code + "&state=" + state + "&referer=" + g.referer +
             "&client_id=someone-else",
         400, "invalid_client", "Authorization failed");
  for (auto evil : {"evil.com", "reforyou.amocrm.ru.evil.com", "evilamocrm.ru",
                    "amocrm.ru%40evil.com", "127.0.0.1", "reforyou.amocrm.ru:8443"})
    expect(cb + "?code=" + g.code + "&state=" + state + "&referer=" + evil + cid, 400,
           "invalid_referer", "Authorization failed");
  // None of the above reached amoCRM.
  BOOST_TEST(counter(s, "token_authorization_code") == 0);
  // amoCRM rejects the code (already used / unknown): exchange_failed, 502.
  expect(cb + "?code=not-a-real-code&state=" + state + "&referer=" + g.referer + cid, 502,
         "exchange_failed", "Authorization failed");
  BOOST_TEST(counter(s, "token_authorization_code") == 1);
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_audit_log WHERE event = 'exchange_failed' AND "
                        "user_id = 'cf-err'") == "1");
  // Expired state.
  auto st2 = new_state(s, "cf-err");
  s.pg->psql(
      "UPDATE amo_oauth_state SET expires_at = now() - interval '1 second' WHERE state_hash = "
      "sha256('" +
      st2 + "'::bytea)");
  expect(cb + "?code=" + g.code + "&state=" + st2 + "&referer=" + g.referer + cid, 400,
         "invalid_state", "Authorization failed");
  BOOST_TEST(counter(s, "token_authorization_code") == 1);
  auto st = body_json(http_get(s.api("/status"), {s.auth("cf-err")}));
  BOOST_TEST(st["data"]["connected"].IsFalse());
}

BOOST_FIXTURE_TEST_CASE(callback_account_not_allowed, Fresh) {
  auto& s = shared_stack();
  s.restart_server(0, {{"AMO_ACCOUNT_ID", "1"}});
  auto g = issue_code(s);
  auto state = new_state(s, "cf-acct");
  auto r = http_get(callback_url(s, g.code, state, g.referer));
  s.restart_server(0);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(page(r).find("error=account_not_allowed") != std::string::npos);
  auto st = body_json(http_get(s.api("/status"), {s.auth("cf-acct")}));
  BOOST_TEST(st["data"]["hasTokens"].IsFalse());
}

BOOST_FIXTURE_TEST_CASE(callback_hostile_input_is_escaped, Fresh) {
  auto& s = shared_stack();
  for (std::string evil :
       {"\"><script>alert(1)</script>", "'-alert(1)-'", "</script><img src=x onerror=alert(1)>",
        "javascript:alert(1)", "\" onmouseover=\"alert(1)"}) {
    std::string cb = s.api("/callback") + "?state=" + amo::http::url_encode(evil) +
                     "&error=" + amo::http::url_encode(evil) +
                     "&referer=" + amo::http::url_encode(evil) +
                     "&code=" + amo::http::url_encode(evil);
    auto r = http_get(cb);
    BOOST_TEST_CONTEXT(evil) {
      BOOST_TEST(r.status == 400);
      BOOST_TEST(page(r).find(evil) == std::string::npos);
      BOOST_TEST(page(r).find("<script>alert") == std::string::npos);
      BOOST_TEST(page(r).find("onerror=") == std::string::npos);
    }
    auto j = http_get(s.api("/callback") + "?from_exchange=1&state=" + amo::http::url_encode(evil) +
                      "&code=" + amo::http::url_encode(evil));
    BOOST_TEST(j.status == 400);
    BOOST_TEST(error_code(j) == "invalid_state");
  }
}

BOOST_FIXTURE_TEST_CASE(exchange_code_rules, Fresh) {
  auto& s = shared_stack();
  const std::vector<std::string> json = {"Content-Type: application/json"};
  auto post = [&](const std::string& user, const std::string& body) {
    return http("POST", s.api("/exchange-code"), {s.auth(user), "Content-Type: application/json"},
                body);
  };
  // Code redeemed by the callback for user A: A gets 200 with no amoCRM call; B gets 409.
  auto g = issue_code(s);
  auto state = new_state(s, "ex-a");
  BOOST_REQUIRE_EQUAL(http_get(callback_url(s, g.code, state, g.referer)).status, 200);
  auto same = post("ex-a", "{\"code\":\"" + g.code + "\",\"state\":\"" + state + "\"}");
  BOOST_TEST(same.status == 200);
  auto d = body_json(same);
  BOOST_TEST(d["data"]["connected"].IsTrue());
  BOOST_TEST(std::string(d["data"]["accountId"].GetString()) == "31920194");
  BOOST_TEST(std::string(d["data"]["domain"].GetString()) == "reforyou.amocrm.ru");
  BOOST_TEST(counter(s, "token_authorization_code") == 1);
  auto other = post("ex-b", "{\"code\":\"" + g.code + "\"}");
  BOOST_TEST(other.status == 409);
  BOOST_TEST(error_code(other) == "code_already_used");
  // A state that belongs to another user: 403.
  auto g2 = issue_code(s);
  auto st_a = new_state(s, "ex-a");
  auto forbidden = post("ex-b", "{\"code\":\"" + g2.code + "\",\"state\":\"" + st_a + "\"}");
  BOOST_TEST(forbidden.status == 403);
  BOOST_TEST(error_code(forbidden) == "forbidden");
  // Missing code, bad JSON, wrong type, wrong content type.
  BOOST_TEST(error_code(post("ex-b", "{}")) == "missing_parameter");
  BOOST_TEST(error_code(post("ex-b", "{\"code\":")) == "invalid_json");
  BOOST_TEST(error_code(post("ex-b", "[1]")) == "invalid_json");
  BOOST_TEST(error_code(post("ex-b", "{\"code\":5}")) == "invalid_parameter");
  BOOST_TEST(
      http("POST", s.api("/exchange-code"), {s.auth("ex-b"), "Content-Type: text/plain"}, "x")
          .status == 415);
  // The old app's direct exchange works for a fresh code.
  auto fresh = post("ex-b", "{\"code\":\"" + g2.code + "\",\"referer\":\"" + g2.referer + "\"}");
  BOOST_TEST(fresh.status == 200);
  BOOST_TEST(body_json(http_get(s.api("/status"), {s.auth("ex-b")}))["data"]["connected"].IsTrue());
  // amoCRM rejects: 502 amo_exchange_failed.
  auto rejected = post("ex-c", "{\"code\":\"bogus\"}");
  BOOST_TEST(rejected.status == 502);
  BOOST_TEST(error_code(rejected) == "amo_exchange_failed");
  BOOST_TEST(error_code(post("ex-c", "{\"code\":\"x\",\"referer\":\"evil.com\"}")) ==
             "invalid_referer");
}

BOOST_FIXTURE_TEST_CASE(disconnect_by_user_and_by_hook, Fresh) {
  auto& s = shared_stack();
  connect_user(s, "dc-1");
  connect_user(s, "dc-2");
  auto r = http("POST", s.api("/disconnect"), {s.auth("dc-1")});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(body_json(r)["data"]["connected"].IsFalse());
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = 'dc-1'") == "0");
  BOOST_TEST(http("POST", s.api("/disconnect"), {s.auth("dc-1")}).status == 200);  // idempotent
  // The hook: bad signatures change nothing.
  const std::string cid = s.env.at("AMO_CLIENT_ID");
  const std::string good =
      amo::crypto::hex(amo::crypto::hmac_sha256(s.env.at("AMO_CLIENT_SECRET"), cid + "|31920194"));
  std::string hook = s.api("/disconnect", 1);
  for (auto q : {std::string("?client_uuid=") + cid +
                     "&account_id=31920194&signature=" + std::string(64, '0'),
                 std::string("?client_uuid=") + cid + "&account_id=31920194",
                 std::string("?client_uuid=other&account_id=31920194&signature=") + good,
                 std::string("?client_uuid=") + cid + "&account_id=31920195&signature=" + good}) {
    auto bad = http_get(hook + q);
    BOOST_TEST(bad.status == 401);
    BOOST_TEST(error_code(bad) == "unauthorized");
  }
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = 'dc-2'") == "1");
  const std::string hook_url =
      hook + "?client_uuid=" + cid + "&account_id=31920194&signature=" + good;
  // A validly signed hook replayed while amoCRM still honours the tokens changes nothing.
  // (Connections of earlier tests hold tokens the reset simulator forgot: out of the way.)
  s.pg->psql("DELETE FROM amo_connection WHERE account_id = 31920194 AND user_id <> 'dc-2'");
  const std::string before = s.pg->psql(
      "SELECT encode(access_token_enc, 'hex') || token_version FROM amo_connection WHERE "
      "user_id = 'dc-2'");
  auto ignored = [&] {
    auto m = http_get(s.base + "/metrics");
    const std::string key = "amo_hook_connections_total{outcome=\"ignored\"} ";
    auto at = m.body.find(key);
    BOOST_REQUIRE(at != std::string::npos);
    return std::stoll(m.body.substr(at + key.size()));
  };
  const int64_t ignored_before = ignored();
  auto replay = http_get(hook_url);
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(body_json(replay)["data"]["disconnected"].GetInt() == 0);
  BOOST_TEST(s.pg->psql("SELECT encode(access_token_enc, 'hex') || token_version FROM "
                        "amo_connection WHERE user_id = 'dc-2'") == before);
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_audit_log WHERE event = 'hook_ignored' AND "
                        "user_id = 'dc-2'") == "1");
  BOOST_TEST(ignored() == ignored_before + 1);
  // The integration really removed in amoCRM: its tokens stop working, the hook removes.
  sim_post(s, "/_sim/uninstall");
  int64_t connected =
      std::stoll(s.pg->psql("SELECT count(*) FROM amo_connection WHERE account_id = 31920194"));
  auto ok = http_get(hook_url);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(body_json(ok)["data"]["disconnected"].GetInt() == connected);
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE account_id = 31920194") == "0");
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_audit_log WHERE event = 'hook_disconnect' AND "
                        "user_id = 'dc-2'") == "1");
  BOOST_TEST(
      s.pg->psql(
          "SELECT count(*) FROM amo_audit_log WHERE event = 'disconnect' AND user_id = 'dc-1'") ==
      "1");
}

BOOST_FIXTURE_TEST_CASE(no_token_in_a_database_dump, Fresh) {
  auto& s = shared_stack();
  connect_user(s, "dump-user");
  // Decrypt what is stored with the configured key: these are the real tokens (the access
  // token works against amoCRM) — and a dump contains neither of them in clear.
  auto unhex = [](const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
      out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
  };
  std::string row = s.pg->psql(
      "SELECT encode(access_token_enc,'hex') || ' ' || encode(refresh_token_enc,'hex') || ' ' || "
      "key_id "
      "FROM amo_connection WHERE user_id = 'dump-user'");
  auto sp1 = row.find(' '), sp2 = row.rfind(' ');
  amo::crypto::TokenCipher cipher(*amo::crypto::key_from_base64(s.env.at("TOKEN_ENCRYPTION_KEY")));
  std::string key_id = row.substr(sp2 + 1);
  std::string access = cipher.decrypt(unhex(row.substr(0, sp1)), key_id, "dump-user|access");
  std::string refresh =
      cipher.decrypt(unhex(row.substr(sp1 + 1, sp2 - sp1 - 1)), key_id, "dump-user|refresh");
  BOOST_TEST(http_get(s.sim + "/api/v4/account", {bearer(access)}).status == 200);
  std::string dump;
  BOOST_REQUIRE_EQUAL(run({"pg_dump", s.pg->url(), "--data-only", "--inserts"}, &dump), 0);
  BOOST_REQUIRE(dump.find("amo_connection") != std::string::npos);
  BOOST_TEST(dump.find(access) == std::string::npos);
  BOOST_TEST(dump.find(refresh) == std::string::npos);
  BOOST_TEST(dump.find(access.substr(0, 24)) == std::string::npos);
  // Nor does any log line.
  BOOST_TEST(s.all_logs().find(access) == std::string::npos);
  BOOST_TEST(s.all_logs().find(refresh) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(from_exchange_json, Fresh) {
  auto& s = shared_stack();
  auto g = issue_code(s);
  auto state = new_state(s, "fx-1");
  auto r = http_get(callback_url(s, g.code, state, g.referer) + "&from_exchange=1");
  BOOST_TEST(r.status == 200);
  auto d = body_json(r);
  BOOST_TEST(d["success"].IsTrue());
  BOOST_TEST(std::string(d["message"].GetString()) == "AMO CRM successfully connected");
  BOOST_TEST(std::string(d["status"].GetString()) == "success");
  BOOST_TEST(d["fromExchange"].IsTrue());
  auto bad = http_get(s.api("/callback") + "?from_exchange=1&code=x&state=nope");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(error_code(bad) == "invalid_state");
}

BOOST_AUTO_TEST_SUITE_END()
