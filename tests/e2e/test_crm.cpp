// Token lifecycle and CRM data (docs/API.md) against two `amo-connect serve` processes
// behind one nginx upstream, so locks and rate limits are proven across processes.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <iostream>
#include <set>
#include <thread>

#include "e2e_util.hpp"

using namespace amo::test;

namespace {

Stack& crm() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    StackOptions o;
    o.servers = 2;
    // These cases count the amoCRM calls each request makes: the leads store (which
    // answers repeated requests without calling amoCRM) is off; it has its own suite.
    o.env = {
        {"AMO_RATE_LIMIT_MAX_WAIT_MS", "15000"}, {"WORKER_THREADS", "16"}, {"LEADS_FRESH_S", "0"}};
    s = std::make_unique<Stack>(o);
    std::atexit([] { s.reset(); });
  }
  return *s;
}

struct Fresh {
  Fresh() {
    crm().sim_reset();
    // Pacing state from earlier cases must not delay this one.
    crm().pg->psql("DELETE FROM amo_rate_limit");
  }
};

HttpResult leads(const std::string& user, const std::string& query = "") {
  return http_get(crm().api("/leads", 0) + query, {crm().auth(user)});
}

// Makes the stored access token look expired (to us) and dead (to amoCRM).
void expire(const std::string& user) {
  crm().pg->psql(
      "UPDATE amo_connection SET expires_at = now() - interval '1 minute' WHERE user_id = '" +
      user + "'");
  sim_post(crm(), "/_sim/expire-access");
}

std::string last_query() {
  auto d = body_json(http_get(crm().sim + "/_sim/counters"));
  return amo::http::url_decode(d["last_leads_query"].GetString());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crm_data)

BOOST_FIXTURE_TEST_CASE(not_connected_is_409, Fresh) {
  for (auto path : {"/leads", "/pipelines", "/test"}) {
    auto r = http_get(crm().api(path), {crm().auth("nobody-here")});
    BOOST_TEST(r.status == 409);
    BOOST_TEST(error_code(r) == "not_connected");
  }
  BOOST_TEST(counter(crm(), "api_total") == 0);
}

BOOST_FIXTURE_TEST_CASE(leads_mapping_and_paging_to_the_end, Fresh) {
  connect_user(crm(), "crm-1");
  auto r = leads("crm-1", "?limit=250");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto d = body_json(r);
  auto& data = d["data"];
  BOOST_TEST(data["leads"].Size() == 100u);
  BOOST_TEST(data["hasMore"].IsFalse());
  BOOST_TEST(data["page"].GetInt() == 1);
  BOOST_TEST(data["limit"].GetInt() == 250);
  auto& l = data["leads"][0];
  for (auto k : {"id", "name", "price", "statusId", "pipelineId", "responsibleUserId", "createdAt",
                 "updatedAt", "closedAt"})
    BOOST_TEST_CONTEXT(k) { BOOST_TEST(l.HasMember(k)); }
  BOOST_TEST(l["id"].IsInt64());
  BOOST_TEST(std::string(l["createdAt"].GetString()).back() == 'Z');
  // Default order created_at:desc reached amoCRM, and the answer is in that order.
  BOOST_TEST(last_query().find("order[created_at]=desc") != std::string::npos);
  for (size_t i = 1; i < data["leads"].Size(); ++i)
    BOOST_TEST(std::string(data["leads"][i - 1]["createdAt"].GetString()) >=
               std::string(data["leads"][i]["createdAt"].GetString()));
  // Paging to the end with limit 30: 30, 30, 30, 10; hasMore until the last page.
  std::set<int64_t> ids;
  for (int page = 1; page <= 4; ++page) {
    auto p = body_json(leads("crm-1", "?limit=30&page=" + std::to_string(page)));
    for (auto& x : p["data"]["leads"].GetArray()) ids.insert(x["id"].GetInt64());
    BOOST_TEST(p["data"]["hasMore"].GetBool() == (page < 4));
    BOOST_TEST(p["data"]["leads"].Size() == (page < 4 ? 30u : 10u));
  }
  BOOST_TEST(ids.size() == 100u);
  // Past the end amoCRM answers 204: an empty list.
  auto past = body_json(leads("crm-1", "?limit=30&page=5"));
  BOOST_TEST(past["data"]["leads"].Size() == 0u);
  BOOST_TEST(past["data"]["hasMore"].IsFalse());
}

BOOST_FIXTURE_TEST_CASE(filters_reach_amocrm_and_results_match, Fresh) {
  connect_user(crm(), "crm-2");
  auto pipes = body_json(http_get(crm().api("/pipelines"), {crm().auth("crm-2")}));
  auto& pl = pipes["data"]["pipelines"];
  BOOST_REQUIRE_EQUAL(pl.Size(), 2u);
  int64_t pipeline = pl[1]["id"].GetInt64();
  int64_t status = pl[1]["statuses"][0]["id"].GetInt64();
  BOOST_TEST((pl[0]["isMain"].GetBool() || pl[1]["isMain"].GetBool()));
  BOOST_TEST(pl[0]["statuses"][0].HasMember("color"));
  BOOST_TEST(pl[0]["statuses"][0].HasMember("type"));

  auto by_pipe = body_json(leads("crm-2", "?limit=250&pipeline_id=" + std::to_string(pipeline)));
  BOOST_TEST(last_query().find("filter[pipeline_id]=" + std::to_string(pipeline)) !=
             std::string::npos);
  BOOST_TEST(by_pipe["data"]["leads"].Size() > 0u);
  for (auto& x : by_pipe["data"]["leads"].GetArray())
    BOOST_TEST(x["pipelineId"].GetInt64() == pipeline);

  auto by_status = body_json(leads("crm-2", "?limit=250&pipeline_id=" + std::to_string(pipeline) +
                                                "&status_id=" + std::to_string(status)));
  BOOST_TEST(last_query().find("filter[statuses][0][status_id]=" + std::to_string(status)) !=
             std::string::npos);
  for (auto& x : by_status["data"]["leads"].GetArray())
    BOOST_TEST(x["statusId"].GetInt64() == status);

  auto all = body_json(leads("crm-2", "?limit=250"));
  int64_t resp = all["data"]["leads"][0]["responsibleUserId"].GetInt64();
  auto by_resp =
      body_json(leads("crm-2", "?limit=250&responsible_user_id=" + std::to_string(resp)));
  BOOST_TEST(last_query().find("filter[responsible_user_id]=" + std::to_string(resp)) !=
             std::string::npos);
  BOOST_TEST(by_resp["data"]["leads"].Size() < all["data"]["leads"].Size());
  for (auto& x : by_resp["data"]["leads"].GetArray())
    BOOST_TEST(x["responsibleUserId"].GetInt64() == resp);

  // Created range, ISO 8601 and unix seconds.
  std::string mid = all["data"]["leads"][50]["createdAt"].GetString();
  auto recent = body_json(leads("crm-2", "?limit=250&created_from=" + mid));
  BOOST_TEST(last_query().find("filter[created_at][from]=") != std::string::npos);
  for (auto& x : recent["data"]["leads"].GetArray())
    BOOST_TEST(std::string(x["createdAt"].GetString()) >= mid);
  auto older = body_json(leads("crm-2", "?limit=250&created_to=" + mid));
  for (auto& x : older["data"]["leads"].GetArray())
    BOOST_TEST(std::string(x["createdAt"].GetString()) <= mid);
  BOOST_TEST(recent["data"]["leads"].Size() + older["data"]["leads"].Size() >= 100u);
  BOOST_TEST(leads("crm-2", "?created_from=1700000000&created_to=1900000000").status == 200);

  // Order and search.
  auto by_id = body_json(leads("crm-2", "?limit=250&order=id:asc"));
  BOOST_TEST(last_query().find("order[id]=asc") != std::string::npos);
  BOOST_TEST(by_id["data"]["leads"][0]["id"].GetInt64() <
             by_id["data"]["leads"][1]["id"].GetInt64());
  std::string name = all["data"]["leads"][3]["name"].GetString();
  std::string word = name.substr(0, name.find(' '));
  auto found = body_json(leads("crm-2", "?limit=250&query=" + amo::http::url_encode(word)));
  BOOST_TEST(last_query().find("query=" + word) != std::string::npos);
  BOOST_TEST(found["data"]["leads"].Size() >= 1u);
  for (auto& x : found["data"]["leads"].GetArray())
    BOOST_TEST(std::string(x["name"].GetString()).find(word) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(empty_list_204_and_invalid_parameters, Fresh) {
  connect_user(crm(), "crm-3");
  sim_post(crm(), "/_sim/knobs", "{\"empty_leads\":true}");
  auto e = body_json(leads("crm-3"));
  BOOST_TEST(e["data"]["leads"].Size() == 0u);
  BOOST_TEST(e["data"]["hasMore"].IsFalse());
  sim_post(crm(), "/_sim/knobs", "{\"empty_leads\":false}");
  int64_t calls = counter(crm(), "leads");
  for (auto [query, param] : std::vector<std::pair<std::string, std::string>>{
           {"?page=0", "page"},
           {"?page=abc", "page"},
           {"?limit=0", "limit"},
           {"?limit=251", "limit"},
           {"?limit=-5", "limit"},
           {"?query=" + std::string(201, 'a'), "query"},
           {"?pipeline_id=-1", "pipeline_id"},
           {"?pipeline_id=1e3", "pipeline_id"},
           {"?status_id=142", "status_id"},
           {"?responsible_user_id=x", "responsible_user_id"},
           {"?created_from=yesterday", "created_from"},
           {"?created_to=2025-02-31", "created_to"},
           {"?created_from=2025-13-01T00:00:00Z", "created_from"},
           {"?order=name", "order"},
           {"?order=id:up", "order"},
           {"?page=99999999999999999999", "page"}}) {
    auto r = leads("crm-3", query);
    BOOST_TEST_CONTEXT(query) {
      BOOST_TEST(r.status == 400);
      BOOST_TEST(error_code(r) == "invalid_parameter");
      BOOST_TEST(
          std::string(body_json(r)["error"]["message"].GetString()).find("'" + param + "'") !=
          std::string::npos);
    }
  }
  BOOST_TEST(counter(crm(), "leads") == calls);  // nothing invalid reached amoCRM
}

BOOST_FIXTURE_TEST_CASE(test_endpoint, Fresh) {
  connect_user(crm(), "crm-4");
  auto r = http_get(crm().api("/test", 1), {crm().auth("crm-4")});
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto d = body_json(r);
  BOOST_TEST(d["data"]["connected"].IsTrue());
  BOOST_TEST(std::string(d["data"]["accountId"].GetString()) == "31920194");
  BOOST_TEST(std::string(d["data"]["subdomain"].GetString()) == "reforyou");
  BOOST_TEST(d["data"]["latencyMs"].IsInt64());
}

BOOST_FIXTURE_TEST_CASE(expired_token_24_concurrent_requests_one_refresh, Fresh) {
  connect_user(crm(), "crm-conc");
  expire("crm-conc");
  auto served = [](int i) {
    std::string log = crm().server_log(i);
    size_t n = 0;
    for (size_t p = log.find("\"route\":\"/leads\""); p != std::string::npos;
         p = log.find("\"route\":\"/leads\"", p + 1))
      ++n;
    return n;
  };
  size_t before0 = served(0), before1 = served(1);
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  std::vector<long> statuses(24);
  for (int i = 0; i < 24; ++i)
    ts.emplace_back([&, i] {
      auto r = leads("crm-conc", "?limit=1");
      statuses[static_cast<size_t>(i)] = r.status;
      ok += r.status == 200;
    });
  for (auto& t : ts) t.join();
  BOOST_TEST(ok.load() == 24);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  BOOST_TEST(counter(crm(), "token_errors") == 0);
  BOOST_TEST(counter(crm(), "max_rps_seen") <= 7);
  std::cout << "24 concurrent requests: refreshes=" << counter(crm(), "token_refresh_token")
            << " leads calls=" << counter(crm(), "leads")
            << " max_rps_seen=" << counter(crm(), "max_rps_seen") << std::endl;
  // Both servers served some of them (the lock was shared across processes).
  BOOST_TEST(served(0) > before0);
  BOOST_TEST(served(1) > before1);
  BOOST_TEST(served(0) + served(1) == before0 + before1 + 24);
  auto st = body_json(http_get(crm().api("/status"), {crm().auth("crm-conc")}));
  BOOST_TEST(st["data"]["connected"].IsTrue());
  BOOST_TEST(!st["data"]["lastRefreshAt"].IsNull());
}

BOOST_FIXTURE_TEST_CASE(access_token_refused_before_expiry_is_refreshed_once, Fresh) {
  // amoCRM stops accepting the access token before the expiry we stored: its 401 makes one
  // refresh and one retry of the same request.
  connect_user(crm(), "crm-401");
  sim_post(crm(), "/_sim/expire-access");
  auto r = leads("crm-401", "?limit=1");
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  BOOST_TEST(counter(crm(), "leads") == 2);
  // The new token is stored and used: no refresh for the next request.
  BOOST_TEST(leads("crm-401", "?limit=1").status == 200);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  BOOST_TEST(counter(crm(), "leads") == 3);
}

BOOST_FIXTURE_TEST_CASE(a_slow_refresh_is_waited_for_not_repeated, Fresh) {
  // amoCRM takes 600 ms for every answer, the refresh included: requests arriving while one
  // holds the connection's row lock wait for its new pair (no second refresh, no error).
  connect_user(crm(), "crm-slow-refresh");
  expire("crm-slow-refresh");
  sim_post(crm(), "/_sim/knobs", "{\"latency_ms\":600}");
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] { ok += leads("crm-slow-refresh", "?limit=1").status == 200; });
  for (auto& t : ts) t.join();
  sim_post(crm(), "/_sim/knobs", "{\"latency_ms\":0}");
  BOOST_TEST(ok.load() == 8);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  BOOST_TEST(counter(crm(), "token_errors") == 0);
}

BOOST_FIXTURE_TEST_CASE(concurrent_401s_share_one_refresh, Fresh) {
  // Six requests read the same access token at once; pacing sends their amoCRM calls one
  // slot (~182 ms) apart, so the later ones get their 401 after the first refresh was
  // committed: they take the rotated pair instead of refreshing it again.
  connect_user(crm(), "crm-401s");
  sim_post(crm(), "/_sim/expire-access");
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 6; ++i)
    ts.emplace_back([&] { ok += leads("crm-401s", "?limit=1").status == 200; });
  for (auto& t : ts) t.join();
  BOOST_TEST(ok.load() == 6);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  BOOST_TEST(counter(crm(), "token_errors") == 0);
}

BOOST_FIXTURE_TEST_CASE(revoked_refresh_token_needs_reauth, Fresh) {
  connect_user(crm(), "crm-rev");
  expire("crm-rev");
  sim_post(crm(), "/_sim/revoke-refresh");
  auto r = leads("crm-rev");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(error_code(r) == "reauthorization_required");
  auto st = body_json(http_get(crm().api("/status"), {crm().auth("crm-rev")}));
  BOOST_TEST(st["data"]["needsReauth"].IsTrue());
  BOOST_TEST(st["data"]["connected"].IsFalse());
  BOOST_TEST(st["data"]["hasTokens"].IsTrue());
  // Not retried forever: the next request does not call amoCRM again.
  int64_t refreshes = counter(crm(), "token_refresh_token");
  BOOST_TEST(error_code(leads("crm-rev")) == "reauthorization_required");
  BOOST_TEST(counter(crm(), "token_refresh_token") == refreshes);
  // Connecting again clears the flag.
  connect_user(crm(), "crm-rev");
  BOOST_TEST(body_json(http_get(crm().api("/status"), {crm().auth("crm-rev")}))["data"]["connected"]
                 .IsTrue());
}

BOOST_FIXTURE_TEST_CASE(token_endpoint_500_is_transient, Fresh) {
  connect_user(crm(), "crm-500");
  expire("crm-500");
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"token\",\"status\":500,\"count\":1,\"body\":\"html\"}}");
  auto r = leads("crm-500");
  // amoCRM's 5xx on the refresh is amoCRM unavailable: 503, retry in 5 s, nothing changed.
  BOOST_TEST(r.status == 503);
  BOOST_TEST(error_code(r) == "amo_unavailable");
  BOOST_TEST(r.header("retry-after") == "5");
  BOOST_TEST(counter(crm(), "token_refresh_token") == 1);
  auto st = body_json(http_get(crm().api("/status"), {crm().auth("crm-500")}));
  BOOST_TEST(st["data"]["needsReauth"].IsFalse());
  BOOST_TEST(st["data"]["connected"].IsTrue());
  // It recovers: the same (unused) refresh token works now.
  BOOST_TEST(leads("crm-500").status == 200);
  BOOST_TEST(counter(crm(), "token_refresh_token") == 2);
}

BOOST_FIXTURE_TEST_CASE(burst_of_30_stays_under_7_per_second, Fresh) {
  connect_user(crm(), "crm-burst");  // (the simulator was reset by the fixture)
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 30; ++i)
    ts.emplace_back([&] { ok += leads("crm-burst", "?limit=1").status == 200; });
  for (auto& t : ts) t.join();
  BOOST_TEST(ok.load() == 30);
  BOOST_TEST(counter(crm(), "leads") == 30);
  BOOST_TEST(counter(crm(), "max_rps_seen") <= 7);
  BOOST_TEST(counter(crm(), "rate_limited") == 0);
  std::cout << "burst of 30: leads calls=" << counter(crm(), "leads")
            << " max_rps_seen=" << counter(crm(), "max_rps_seen")
            << " rate_limited=" << counter(crm(), "rate_limited") << std::endl;
}

BOOST_FIXTURE_TEST_CASE(one_forced_429_is_retried_once, Fresh) {
  connect_user(crm(), "crm-429");
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"api\",\"status\":429,\"count\":1}}");
  BOOST_TEST(leads("crm-429").status == 200);
  BOOST_TEST(counter(crm(), "leads") == 2);
  // Two in a row: retried once, never more → 429 with Retry-After.
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"api\",\"status\":429,\"count\":2}}");
  auto r = leads("crm-429");
  BOOST_TEST(r.status == 429);
  BOOST_TEST(error_code(r) == "amo_rate_limited");
  BOOST_TEST(!r.header("retry-after").empty());
  BOOST_TEST(counter(crm(), "leads") == 4);
}

BOOST_FIXTURE_TEST_CASE(amocrm_down_slow_or_garbage, Fresh) {
  connect_user(crm(), "crm-slow");
  sim_post(crm(), "/_sim/knobs", "{\"latency_ms\":4500}");  // AMO_HTTP_TIMEOUT_MS is 3000
  auto r = leads("crm-slow");
  sim_post(crm(), "/_sim/knobs", "{\"latency_ms\":0}");
  BOOST_TEST(r.status == 504);
  BOOST_TEST(error_code(r) == "amo_timeout");
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"api\",\"status\":500,\"count\":1,\"body\":\"html\"}}");
  auto g = leads("crm-slow");  // any 5xx is amoCRM unavailable: retryable
  BOOST_TEST(g.status == 503);
  BOOST_TEST(error_code(g) == "amo_unavailable");
  BOOST_TEST(g.header("retry-after") == "5");
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"api\",\"status\":503,\"count\":1}}");
  auto u = leads("crm-slow");
  BOOST_TEST(u.status == 503);
  BOOST_TEST(error_code(u) == "amo_unavailable");
  BOOST_TEST(!u.header("retry-after").empty());
  // A 200 whose body is not what amoCRM sends: 502, never a crash or a fake empty list.
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"api\",\"status\":200,\"count\":2,\"body\":\"html\"}}");
  auto garbage = leads("crm-slow");
  BOOST_TEST(garbage.status == 502);
  BOOST_TEST(error_code(garbage) == "amo_bad_response");
  auto garbage_test = http_get(crm().api("/test"), {crm().auth("crm-slow")});
  BOOST_TEST(garbage_test.status == 502);
  BOOST_TEST(error_code(garbage_test) == "amo_bad_response");
  // A token answer without tokens: the callback fails cleanly and stores nothing.
  auto grant = issue_code(crm());
  auto state = new_state(crm(), "crm-garbage");
  sim_post(crm(), "/_sim/knobs",
           "{\"fail_next\":{\"endpoint\":\"token\",\"status\":200,\"count\":1}}");
  auto page = http_get(callback_url(crm(), grant.code, state, grant.referer));
  BOOST_TEST(page.status == 502);
  BOOST_TEST(page.body.find("error=exchange_failed") != std::string::npos);
  BOOST_TEST(crm().pg->psql("SELECT count(*) FROM amo_connection WHERE user_id = 'crm-garbage'") ==
             "0");
  BOOST_TEST(leads("crm-slow").status == 200);
}

BOOST_FIXTURE_TEST_CASE(api_key_exchange, Fresh) {
  auto post = [](const std::string& user, const std::string& body) {
    return http("POST", crm().api("/exchange-api-key"),
                {crm().auth(user), "Content-Type: application/json"}, body);
  };
  auto r = post("ak-1", "{\"login\":\"agent1@example.com\",\"api_key\":\"k-123\"}");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  auto d = body_json(r);
  BOOST_TEST(d["success"].IsTrue());
  BOOST_TEST(std::string(d["status"].GetString()) == "accepted");
  BOOST_TEST(std::string(d["message"].GetString()) == "API key exchange request accepted");
  BOOST_TEST(std::string(d["note"].GetString()) ==
             "Authorization code will be sent to redirect URI");
  // amoCRM delivers the code to the callback with from_exchange=1; it answers JSON 200.
  for (int i = 0; i < 400 && counter(crm(), "last_delivery_status") == 0; ++i) sleep_ms(50);
  BOOST_TEST(counter(crm(), "last_delivery_status") == 200);
  auto st = body_json(http_get(crm().api("/status"), {crm().auth("ak-1")}));
  BOOST_TEST(st["data"]["connected"].IsTrue());
  // Once per 5 minutes per user, and per login.
  auto again = post("ak-1", "{\"login\":\"other@example.com\",\"api_key\":\"k\"}");
  BOOST_TEST(again.status == 429);
  BOOST_TEST(error_code(again) == "rate_limited");
  // The rest of the 5-minute window.
  BOOST_TEST((std::stoi(again.header("retry-after")) >= 290 &&
              std::stoi(again.header("retry-after")) <= 300));
  BOOST_TEST(post("ak-2", "{\"login\":\"AGENT1@example.com\",\"api_key\":\"k\"}").status == 429);
  // amoCRM answers 403 for a forbidden key.
  auto f = post("ak-3", "{\"login\":\"agent3@example.com\",\"api_key\":\"forbidden\"}");
  BOOST_TEST(f.status == 403);
  BOOST_TEST(error_code(f) == "forbidden");
  // Missing fields.
  BOOST_TEST(error_code(post("ak-4", "{\"login\":\"x@example.com\"}")) == "missing_parameter");
  BOOST_TEST(error_code(post("ak-4", "{\"api_key\":\"x\"}")) == "missing_parameter");
  BOOST_TEST(error_code(post("ak-4", "not json")) == "invalid_json");
  // The api_key is never stored or logged.
  BOOST_TEST(crm().all_logs().find("k-123") == std::string::npos);
  std::string dump;
  BOOST_REQUIRE_EQUAL(run({"pg_dump", crm().pg->url(), "--data-only"}, &dump), 0);
  // The dump holds the tables and the rows of this exchange (its state, the connection).
  for (auto table : {"amo_connection", "amo_oauth_state", "amo_audit_log", "amo_rate_limit"})
    BOOST_TEST(dump.find(std::string("COPY public.") + table + " ") != std::string::npos, table);
  BOOST_TEST(dump.find("\nak-1\t") != std::string::npos);  // its amo_connection row
  BOOST_TEST(dump.find("k-123") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(refresh_due_refreshes_only_due_connections, Fresh) {
  connect_user(crm(), "due-old");
  connect_user(crm(), "due-new");
  crm().pg->psql(
      "UPDATE amo_connection SET last_refresh_at = now() - interval '40 days' WHERE user_id = "
      "'due-old'");
  crm().pg->psql(
      "UPDATE amo_connection SET last_refresh_at = now() - interval '1 day' WHERE user_id = "
      "'due-new'");
  std::string before_new =
      crm().pg->psql("SELECT last_refresh_at FROM amo_connection WHERE user_id = 'due-new'");
  // Other connections of this stack are not due either.
  crm().pg->psql(
      "UPDATE amo_connection SET last_refresh_at = now() WHERE user_id NOT IN ('due-old', "
      "'due-new')");
  int64_t refreshes = counter(crm(), "token_refresh_token");
  std::string out;
  int rc = run({bin_path("amo-connect"), "refresh-due"}, &out, crm().env);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("1 due, 1 refreshed") != std::string::npos, out);
  BOOST_TEST(counter(crm(), "token_refresh_token") == refreshes + 1);
  BOOST_TEST(crm().pg->psql("SELECT last_refresh_at > now() - interval '1 minute' FROM "
                            "amo_connection WHERE user_id = 'due-old'") == "t");
  BOOST_TEST(
      crm().pg->psql("SELECT last_refresh_at FROM amo_connection WHERE user_id = 'due-new'") ==
      before_new);
}

BOOST_AUTO_TEST_SUITE_END()
