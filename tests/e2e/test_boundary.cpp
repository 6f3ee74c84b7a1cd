// The trust boundary end to end: one code redeemed once whatever the interleaving, one
// pacing bucket per account whatever the letter case of its host, text that is not UTF-8.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>

#include "auth/jwt.hpp"
#include "e2e_util.hpp"

using namespace amo::test;

namespace {
struct Fresh {
  Fresh() { shared_stack().sim_reset(); }
};

HttpResult exchange_code(const Stack& s, const std::string& user, const std::string& code,
                         const std::string& state, const std::string& referer) {
  std::string body =
      "{\"code\":\"" + code + "\",\"state\":\"" + state + "\",\"referer\":\"" + referer + "\"}";
  return http("POST", s.api("/exchange-code"), {s.auth(user), "Content-Type: application/json"},
              body);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(boundary)

// A callback and an exchange-code fired at the same moment for one state: amoCRM sees the
// code once, both answers succeed, and the connection is the one made from that code.
BOOST_FIXTURE_TEST_CASE(callback_and_exchange_code_race_for_one_state, Fresh) {
  auto& s = shared_stack();
  const int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      const std::string user = "race-" + std::to_string(round);
      auto g = issue_code(s);
      auto state = new_state(s, user);
      int64_t before = counter(s, "token_authorization_code");
      std::atomic<int> ready{0};
      HttpResult page, api;
      std::thread a([&] {
        ++ready;
        while (ready < 2) std::this_thread::yield();
        page = http_get(callback_url(s, g.code, state, g.referer));
      });
      std::thread b([&] {
        ++ready;
        while (ready < 2) std::this_thread::yield();
        api = exchange_code(s, user, g.code, state, g.referer);
      });
      a.join();
      b.join();
      BOOST_TEST(counter(s, "token_authorization_code") == before + 1);
      BOOST_TEST(page.status == 200);
      BOOST_TEST(page.body.find("success=true") != std::string::npos);
      BOOST_TEST(api.status == 200, api.body);
      BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = '" + user +
                            "' AND access_token_enc IS NOT NULL AND NOT needs_reauth") == "1");
    }
  }
}

// Three agents of one account whose referers differ only in letter case share one pacing
// bucket: a burst of their lead requests never makes amoCRM refuse a request.
BOOST_FIXTURE_TEST_CASE(host_letter_case_does_not_split_the_rate_limit, Fresh) {
  auto& s = shared_stack();
  const std::vector<std::string> spellings = {"reforyou.amocrm.ru", "REFORYOU.AMOCRM.RU",
                                              "Reforyou.Amocrm.Ru"};
  std::vector<std::string> users;
  for (size_t i = 0; i < spellings.size(); ++i) {
    std::string user = "case-" + std::to_string(i);
    auto g = issue_code(s);
    auto state = new_state(s, user);
    auto r = http_get(callback_url(s, g.code, state, spellings[i]));
    BOOST_REQUIRE_MESSAGE(r.status == 200, spellings[i] << " → " << r.status);
    users.push_back(user);
  }
  BOOST_TEST(s.pg->psql("SELECT string_agg(DISTINCT domain, ',') FROM amo_connection WHERE "
                        "user_id LIKE 'case-%'") == "reforyou.amocrm.ru");
  auto st = http_get(s.api("/status"), {s.auth("case-1")});
  BOOST_TEST(body_json(st)["data"]["domain"].GetString() == std::string("reforyou.amocrm.ru"));
  // 12 requests per user at once: paced as one account. Each asks for another page, so
  // every one is an amoCRM call (identical requests of one user would share one).
  std::vector<std::thread> burst;
  std::atomic<int> ok{0}, limited{0}, other{0};
  for (int i = 0; i < 36; ++i)
    burst.emplace_back([&, i] {
      auto r = http_get(s.api("/leads") + "?limit=1&page=" + std::to_string(i + 1),
                        {s.auth(users[i % 3])});
      (r.status == 200 ? ok : r.status == 429 ? limited : other)++;
    });
  for (auto& t : burst) t.join();
  BOOST_TEST(other.load() == 0);
  BOOST_TEST(ok.load() + limited.load() == 36);
  BOOST_TEST(counter(s, "rate_limited") == 0);  // amoCRM never had to refuse one
  BOOST_TEST(counter(s, "max_rps_seen") <= 7);
  BOOST_TEST(counter(s, "leads") == ok.load());
  BOOST_TEST(s.pg->psql("SELECT count(*) FROM amo_rate_limit WHERE lower(bucket) = "
                        "'amo:reforyou.amocrm.ru'") == "1");
}

// A correctly signed JWT whose user id is not valid UTF-8 is a 401, never a 500.
BOOST_FIXTURE_TEST_CASE(jwt_user_id_must_be_utf8, Fresh) {
  auto& s = shared_stack();
  const std::string exp = std::to_string(std::time(nullptr) + 3600);
  for (const std::string& sub :
       {std::string("\xC3\x28"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
        std::string("a\xFF"), std::string("\\ud800"), std::string("\\udc00x"),
        std::string("\\ud800\\u0041")}) {
    BOOST_TEST_CONTEXT(sub) {
      std::string token = amo::auth::sign_jwt_hs256("{\"sub\":\"" + sub + "\",\"exp\":" + exp + "}",
                                                    s.env.at("JWT_SECRET"));
      auto r = http_get(s.api("/status"), {"Authorization: Bearer " + token});
      BOOST_TEST(r.status == 401);
      BOOST_TEST(error_code(r) == "unauthorized");
      BOOST_TEST(r.header("www-authenticate") == "Bearer");
    }
  }
  // A valid non-ASCII id works.
  std::string token = amo::auth::sign_jwt_hs256("{\"sub\":\"агент-1\",\"exp\":" + exp + "}",
                                                s.env.at("JWT_SECRET"));
  BOOST_TEST(http_get(s.api("/status"), {"Authorization: Bearer " + token}).status == 200);
}

// The leads search counts characters, not bytes: 200 Cyrillic letters pass, 201 do not,
// and bytes that are not UTF-8 are refused before anything leaves.
BOOST_FIXTURE_TEST_CASE(leads_query_limit_counts_characters, Fresh) {
  auto& s = shared_stack();
  connect_user(s, "query-user");
  std::string q200, q201;
  for (int i = 0; i < 200; ++i) q200 += "ж";
  q201 = q200 + "ж";
  auto ok =
      http_get(s.api("/leads") + "?query=" + amo::http::url_encode(q200), {s.auth("query-user")});
  BOOST_TEST(ok.status == 200, ok.body);
  auto d = body_json(ok);
  BOOST_TEST(d["data"]["stale"].IsFalse());
  BOOST_TEST(d["data"]["fetchedAt"].IsString());
  BOOST_TEST(!ok.header("etag").empty());
  BOOST_TEST(ok.header("cache-control") == "private, no-cache");
  for (const std::string& bad :
       {amo::http::url_encode(q201), std::string("%FF%FE"), std::string("%C0%AF")}) {
    int64_t before = counter(s, "leads");
    auto r = http_get(s.api("/leads") + "?query=" + bad, {s.auth("query-user")});
    BOOST_TEST(r.status == 400);
    BOOST_TEST(error_code(r) == "invalid_parameter");
    BOOST_TEST(counter(s, "leads") == before);
  }
  // The same content again: 304 on its ETag, no body.
  auto again = http_get(s.api("/leads") + "?query=" + amo::http::url_encode(q200),
                        {s.auth("query-user"), "If-None-Match: " + ok.header("etag")});
  BOOST_TEST(again.status == 304);
  BOOST_TEST(again.body.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(startup)

// A socket path whose directory is missing stops start-up with one clear line (libfcgi
// would print a bare "bind/listen" and exit).
BOOST_AUTO_TEST_CASE(missing_socket_directory_is_one_clear_line) {
  auto& s = shared_stack();
  auto env = s.env;
  env["FCGI_SOCKET"] = "/nonexistent-amo-dir/fcgi.sock";
  env.erase("LISTEN_FDS");
  std::string err;
  int rc = run({bin_path("amo-connect"), "serve"}, &err, env);
  BOOST_TEST(rc == 1);
  BOOST_TEST(err ==
                 "amo-connect: serve failed: cannot listen on FCGI_SOCKET "
                 "/nonexistent-amo-dir/fcgi.sock: directory /nonexistent-amo-dir does not "
                 "exist\n",
             err);
}

BOOST_AUTO_TEST_SUITE_END()
