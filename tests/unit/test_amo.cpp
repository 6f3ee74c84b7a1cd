// amo/: amoCRM's answers → our values, the app's query → amoCRM's URL, answer statuses →
// faults. Everything that is not what amoCRM sends is AmoError(kGarbage) = amo_bad_response.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "amo/client.hpp"
#include "amo/gateway.hpp"
#include "amo/leads.hpp"
#include "amo/parse.hpp"
#include "util/json.hpp"

using namespace amo::amo_api;
using amo::core::Fault;

namespace {
// The failure kind an expression throws, or nullopt when it does not throw.
template <typename F>
std::optional<Failure> failure_of(F&& f) {
  try {
    f();
  } catch (const AmoError& e) {
    return e.kind;
  }
  return std::nullopt;
}
bool garbage(const std::optional<Failure>& f) { return f && *f == Failure::kGarbage; }

rapidjson::Document doc(const std::string& text) {
  rapidjson::Document d;
  BOOST_REQUIRE(
      (amo::json::parse(text, d, amo::json::kUpstreamLimits) == amo::json::ParseFail::kNone));
  return d;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(amo_parse)

BOOST_AUTO_TEST_CASE(token_answer) {
  auto t = parse_token(
      R"({"token_type":"Bearer","expires_in":86400,"access_token":"a.b.c","refresh_token":"r1"})");
  BOOST_TEST(t.access_token == "a.b.c");
  BOOST_TEST(t.refresh_token == "r1");
  BOOST_TEST(t.expires_in == 86400);
  BOOST_TEST(parse_token(R"({"expires_in":5,"access_token":"a","refresh_token":"r"})").expires_in ==
             60);
  BOOST_TEST(parse_token(R"({"expires_in":999999999,"access_token":"a","refresh_token":"r"})")
                 .expires_in == 90 * 86400);
}

BOOST_AUTO_TEST_CASE(token_answer_that_amo_would_not_send_is_garbage) {
  for (const std::string& bad : std::vector<std::string>{
           R"({"access_token":123,"refresh_token":"r","expires_in":86400})",
           R"({"access_token":"a","refresh_token":["r"],"expires_in":86400})",
           R"({"access_token":"a","refresh_token":"r","expires_in":"86400"})",
           R"({"access_token":"a","refresh_token":"r","expires_in":1.5})",
           R"({"access_token":"a","refresh_token":"r","expires_in":0})",
           R"({"access_token":"","refresh_token":"r","expires_in":86400})",
           R"({"access_token":null,"refresh_token":"r","expires_in":86400})",
           R"({"refresh_token":"r","expires_in":86400})",
           R"({"access_token":"a b","refresh_token":"r","expires_in":86400})",
           R"({"access_token":"a\r\nX: y","refresh_token":"r","expires_in":86400})",
           "{\"access_token\":\"\xC3\x28\",\"refresh_token\":\"r\",\"expires_in\":86400}",
           R"([{"access_token":"a"}])", "<html>200</html>", "",
           "{\"access_token\":", std::string(100000, '[') + std::string(100000, ']'),
           // A member twice: which token is meant? (readers differ on the copy they take)
           R"({"access_token":"a","access_token":"b","refresh_token":"r","expires_in":86400})",
           R"({"access_token":"a","refresh_token":"r","expires_in":86400,"x":{"y":1,"y":2}})",
           std::string("{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":86400}\0x",
                       61)})
    BOOST_TEST_CONTEXT(bad.substr(0, 80)) {
      BOOST_TEST(garbage(failure_of([&] { parse_token(bad); })));
    }
}

BOOST_AUTO_TEST_CASE(account_answer) {
  auto a = parse_account(R"({"id":31920194,"name":"ForYou","subdomain":"reforyou"})");
  BOOST_TEST(a.id == 31920194);
  BOOST_TEST(a.name == "ForYou");
  BOOST_TEST(a.subdomain == "reforyou");
  // A name that could not be stored or shown is cleaned; null means none.
  BOOST_TEST(parse_account(R"({"id":1,"name":"Acme\u0000 Ltd\u0007"})").name == "Acme Ltd");
  BOOST_TEST(parse_account(R"({"id":1,"name":null})").name.empty());
  BOOST_TEST(parse_account("{\"id\":1,\"name\":\"" + std::string(300, 'x') + "\"}").name.size() ==
             255u);
  for (const std::string& bad : std::vector<std::string>{
           R"({"id":"31920194"})", R"({"id":0})", R"({"id":-5})", R"({"name":"x"})",
           R"({"id":1,"name":42})", "{\"id\":1,\"name\":\"\xC3\x28\"}",
           R"({"id":1,"name":"\udc00"})", "[]", "null", "not json"})
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(garbage(failure_of([&] { parse_account(bad); })));
    }
}

BOOST_AUTO_TEST_CASE(problem_text_is_safe) {
  BOOST_TEST(problem_text(R"({"hint":"Token has been revoked","title":"x"})") ==
             "Token has been revoked");
  BOOST_TEST(problem_text(R"({"title":"Unauthorized"})") == "Unauthorized");
  BOOST_TEST(problem_text(R"({"hint":5,"detail":"d"})") == "d");
  BOOST_TEST(problem_text("<html>") == "");
  BOOST_TEST(problem_text("{\"hint\":\"" + std::string(500, 'h') + "\"}").size() == 200u);
  BOOST_TEST(problem_text(std::string(100000, '[')) == "");
}

BOOST_AUTO_TEST_CASE(statuses_to_failures_and_faults) {
  BOOST_TEST(!api_failure(200).has_value());
  BOOST_TEST(!api_failure(204).has_value());
  BOOST_TEST((api_failure(429) == Failure::kRateLimited));
  for (long s : {500L, 502L, 503L, 504L, 599L}) BOOST_TEST((api_failure(s) == Failure::kServer));
  for (long s : {400L, 401L, 403L, 404L, 422L}) BOOST_TEST((api_failure(s) == Failure::kRejected));
  for (long s : {0L, 100L, 201L, 301L, 302L, 304L, 600L})
    BOOST_TEST((api_failure(s) == Failure::kGarbage));
  BOOST_TEST((fault_of(Failure::kTimeout, 0) == Fault::kAmoTimeout));
  BOOST_TEST((fault_of(Failure::kNetwork, 0) == Fault::kAmoUnavailable));
  BOOST_TEST((fault_of(Failure::kServer, 500) == Fault::kAmoUnavailable));
  BOOST_TEST((fault_of(Failure::kRateLimited, 429) == Fault::kAmoRateLimited));
  BOOST_TEST((fault_of(Failure::kGarbage, 200) == Fault::kAmoBadResponse));
  BOOST_TEST((fault_of(Failure::kRejected, 403) == Fault::kAmoForbidden));
  BOOST_TEST((fault_of(Failure::kRejected, 404) == Fault::kAmoRejected));
  // Retry-After: amoCRM's when it sent one, else 5 s for an outage and 1 s for a 429.
  BOOST_TEST(AmoError(Failure::kServer, 503, "x", {}, 30).retry_after().value_or(0) == 30);
  BOOST_TEST(AmoError(Failure::kNetwork, 0, "x").retry_after().value_or(0) == 5);
  BOOST_TEST(AmoError(Failure::kRateLimited, 429, "x").retry_after().value_or(0) == 1);
  BOOST_TEST(!AmoError(Failure::kTimeout, 0, "x").retry_after().has_value());
  BOOST_TEST(AmoError(Failure::kRejected, 400, "x").grant_rejected());
  BOOST_TEST(AmoError(Failure::kRejected, 401, "x").grant_rejected());
  BOOST_TEST(!AmoError(Failure::kRejected, 403, "x").grant_rejected());
  BOOST_TEST(!AmoError(Failure::kServer, 500, "x").grant_rejected());
}

BOOST_AUTO_TEST_CASE(pacing_step_keeps_a_margin) {
  BOOST_TEST(pacing_step_ms(7) == 182);  // ceil(1000/7*1.2) + 10
  BOOST_TEST(pacing_step_ms(1) == 1210);
  BOOST_TEST(pacing_step_ms(100) == 22);
  BOOST_TEST(pacing_step_ms(0) == 1210);  // never a division by zero
  // AMO_RATE_LIMIT_RPS is a decimal: 0.5/s must not be paced as 1/s (nor 2.5 as 2).
  BOOST_TEST(pacing_step_ms(0.5) == 2410);
  BOOST_TEST(pacing_step_ms(2.5) == 490);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(amo_leads)

BOOST_AUTO_TEST_CASE(leads_path_from_query) {
  LeadsQuery q;
  BOOST_TEST(leads_path(q) == "/api/v4/leads?page=1&limit=50&order%5Bcreated_at%5D=desc");
  q.page = 3;
  q.limit = 250;
  q.query = "Київ & co";
  q.pipeline_id = 11;
  q.status_id = 22;
  q.responsible_user_id = 33;
  q.created_from = 1700000000;
  q.created_to = 1700086400;
  q.order_field = "updated_at";
  q.order_dir = "asc";
  BOOST_TEST(leads_path(q) ==
             "/api/v4/leads?page=3&limit=250&query=%D0%9A%D0%B8%D1%97%D0%B2%20%26%20co"
             "&filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=11"
             "&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=22"
             "&filter%5Bresponsible_user_id%5D=33"
             "&filter%5Bcreated_at%5D%5Bfrom%5D=1700000000"
             "&filter%5Bcreated_at%5D%5Bto%5D=1700086400&order%5Bupdated_at%5D=asc");
  LeadsQuery p;
  p.pipeline_id = 11;
  BOOST_TEST(leads_path(p) ==
             "/api/v4/leads?page=1&limit=50&filter%5Bpipeline_id%5D=11&order%5Bcreated_at%5D=desc");
  BOOST_TEST(canonical(p) == leads_path(p));
  BOOST_TEST(canonical(p) != canonical(q));
}

BOOST_AUTO_TEST_CASE(leads_answer_mapping) {
  auto m = map_leads(200, R"({"_links":{"next":{"href":"x"}},"_embedded":{"leads":[
    {"id":1,"name":"Flat 3","price":150000,"status_id":10,"pipeline_id":20,
     "responsible_user_id":30,"created_at":1737368100,"updated_at":1737368160,"closed_at":null},
    {"id":2,"name":null,"price":null,"created_at":0}]}})");
  BOOST_TEST(m.has_more);
  auto d = doc(m.leads_json);
  BOOST_REQUIRE(d.IsArray());
  BOOST_REQUIRE(d.Size() == 2u);
  const auto& a = d[0];
  BOOST_TEST(a["id"].GetInt64() == 1);
  BOOST_TEST(a["name"].GetString() == std::string("Flat 3"));
  BOOST_TEST(a["price"].GetInt64() == 150000);
  BOOST_TEST(a["statusId"].GetInt64() == 10);
  BOOST_TEST(a["pipelineId"].GetInt64() == 20);
  BOOST_TEST(a["responsibleUserId"].GetInt64() == 30);
  BOOST_TEST(a["createdAt"].GetString() == std::string("2025-01-20T10:15:00Z"));
  BOOST_TEST(a["updatedAt"].GetString() == std::string("2025-01-20T10:16:00Z"));
  BOOST_TEST(a["closedAt"].IsNull());
  BOOST_TEST(d[1]["name"].IsNull());
  BOOST_TEST(d[1]["createdAt"].IsNull());
  BOOST_TEST(d[1]["statusId"].IsNull());
  // 204 is amoCRM's empty list.
  auto empty = map_leads(204, "");
  BOOST_TEST(empty.leads_json == "[]");
  BOOST_TEST(!empty.has_more);
  BOOST_TEST(!map_leads(200, R"({"_embedded":{"leads":[]}})").has_more);
}

BOOST_AUTO_TEST_CASE(leads_answer_that_amo_would_not_send_is_garbage) {
  for (const std::string& bad : std::vector<std::string>{
           R"({"_embedded":{"leads":[{"id":"1"}]}})",
           R"({"_embedded":{"leads":[{"id":1,"name":5}]}})",
           R"({"_embedded":{"leads":[{"id":1,"price":"10"}]}})",
           R"({"_embedded":{"leads":[{"id":1,"created_at":"2025"}]}})",
           R"({"_embedded":{"leads":[{"name":"no id"}]}})", R"({"_embedded":{"leads":[1,2]}})",
           R"({"_embedded":{"leads":{}}})", R"({"_embedded":[]})", R"({"_embedded":{}})", R"({})",
           R"({"garbage":true})", "<html>200</html>", "[]",
           "{\"_embedded\":{\"leads\":[{\"id\":1,\"name\":\"\xC3\x28\"}]}}",
           std::string(200000, '[') + std::string(200000, ']')})
    BOOST_TEST_CONTEXT(bad.substr(0, 80)) {
      BOOST_TEST(garbage(failure_of([&] { map_leads(200, bad); })));
    }
  BOOST_TEST(garbage(failure_of([] { map_leads(201, "{}"); })));
}

BOOST_AUTO_TEST_CASE(pipelines_answer_mapping) {
  auto out = map_pipelines(200, R"({"_embedded":{"pipelines":[{"id":7,"name":"Sales","is_main":true,
    "_embedded":{"statuses":[{"id":70,"name":"New","color":"#99ccff","type":1},{"id":142,"name":"Won"}]}},
    {"id":8,"name":"Rent"}]}})");
  auto d = doc(out);
  BOOST_REQUIRE(d.Size() == 2u);
  BOOST_TEST(d[0]["id"].GetInt64() == 7);
  BOOST_TEST(d[0]["isMain"].GetBool());
  BOOST_TEST(d[0]["statuses"].Size() == 2u);
  BOOST_TEST(d[0]["statuses"][0]["color"].GetString() == std::string("#99ccff"));
  BOOST_TEST(d[0]["statuses"][1]["type"].IsNull());
  BOOST_TEST(!d[1]["isMain"].GetBool());
  BOOST_TEST(d[1]["statuses"].Size() == 0u);
  BOOST_TEST(map_pipelines(204, "") == "[]");
  for (const std::string& bad : std::vector<std::string>{
           R"({"_embedded":{"pipelines":[{"id":7,"is_main":"yes"}]}})",
           R"({"_embedded":{"pipelines":[{"id":7,"_embedded":{"statuses":{}}}]}})",
           R"({"_embedded":{"pipelines":[{"id":7,"_embedded":{"statuses":[{"id":"x"}]}}]}})",
           R"({"pipelines":[]})"})
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(garbage(failure_of([&] { map_pipelines(200, bad); })));
    }
}

BOOST_AUTO_TEST_SUITE_END()
