// Every route, every method, hostile strings in every parameter and header: always a clear
// JSON (or, for the callback, HTML) answer from the service — never a 500, never nginx's
// own 502 because a worker died, and the server keeps serving.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"

using namespace amo::test;

BOOST_AUTO_TEST_SUITE(hostile_input)

BOOST_AUTO_TEST_CASE(sweep_every_route) {
  auto& s = shared_stack();
  s.sim_reset();
  connect_user(s, "hostile-user");
  connect_user(s, "bystander");  // never named in the sweep: must come out untouched
  const std::vector<std::string> evil = {"",
                                         "%00",
                                         "%",
                                         "%zz",
                                         "'; DROP TABLE amo_connection; --",
                                         "\"><script>alert(1)</script>",
                                         std::string(3000, 'A'),
                                         "%E2%80%AE%F0%9F%92%A9",
                                         "%C3%28",
                                         "-1",
                                         "99999999999999999999999",
                                         "1e308",
                                         "..%2F..%2Fetc%2Fpasswd",
                                         "a%0d%0aSet-Cookie:%20x=1",
                                         "[]",
                                         "{}",
                                         "%7B%22a%22:1%7D"};
  const std::vector<std::string> params = {
      "code",         "state",      "referer", "client_id",   "error",      "from_exchange",
      "page",         "limit",      "query",   "pipeline_id", "status_id",  "responsible_user_id",
      "created_from", "created_to", "order",   "client_uuid", "account_id", "signature"};
  const std::vector<std::string> routes = {"/status",        "/auth-url",   "/callback",
                                           "/exchange-code", "/disconnect", "/leads",
                                           "/pipelines",     "/test",       "/exchange-api-key"};
  int requests = 0;
  for (auto& route : routes) {
    for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
      for (size_t i = 0; i < evil.size(); ++i) {
        std::string q = "?";
        for (size_t p = 0; p < params.size(); ++p) {
          const std::string& v = evil[(i + p) % evil.size()];
          // Raw strings are percent-encoded; the ones already holding escapes (bad ones
          // included) go as they are.
          q += params[p] + "=" + (v.find('%') == std::string::npos ? amo::http::url_encode(v) : v) +
               "&";
        }
        std::vector<std::string> headers = {"Accept-Language: " +
                                            std::string(i % 2 ? "uk;q=abc,,," : "ru-RU;q=0.5")};
        if (i % 3 != 0)
          headers.push_back(s.auth(i % 3 == 1 ? "hostile-user" : "hostile\\u0000user"));
        std::string body = i % 2 ? "{\"code\":\"x\",\"login\":[1],\"api_key\":{},\"state\":null}"
                                 : "\xff\xfe not json";
        if (std::string(method) != "GET") headers.push_back("Content-Type: application/json");
        auto r = http(method, s.api(route, static_cast<int>(i % 2)) + q, headers,
                      std::string(method) == "GET" ? "" : body);
        ++requests;
        BOOST_TEST_CONTEXT(method << " " << route << " #" << i) {
          BOOST_TEST(r.status >= 200);
          BOOST_TEST(r.status != 500);
          bool html = r.header("content-type").rfind("text/html", 0) == 0;
          if (!html) {
            auto d = body_json(r);
            if (d.HasMember("error")) {
              BOOST_TEST(std::string(d["error"]["code"].GetString()) !=
                         "service_unavailable");  // nginx: worker gone
              BOOST_TEST(std::string(d["error"]["code"].GetString()) != "internal_error");
            }
          } else {
            BOOST_TEST(route == "/callback");
            BOOST_TEST(r.body.find("<script>alert") == std::string::npos);
          }
          BOOST_TEST(r.body.find("DROP TABLE") == std::string::npos);
          BOOST_TEST(r.header("set-cookie").empty());
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(requests << " hostile requests");
  // Still alive, and nobody else's data touched (the sweep's own user may legitimately
  // have disconnected itself with POST /disconnect).
  auto st = body_json(http_get(s.api("/status"), {s.auth("bystander")}));
  BOOST_TEST(st["data"]["connected"].IsTrue());
  BOOST_TEST(
      s.pg->psql(
          "SELECT count(*) FROM amo_connection WHERE user_id = 'bystander' AND NOT needs_reauth") ==
      "1");
}

BOOST_AUTO_TEST_SUITE_END()
