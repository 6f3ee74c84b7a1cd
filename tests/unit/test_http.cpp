// HTTP layer (docs/API.md: paths and conventions): Router, the error table and its JSON envelope,
// Response helpers, query parsing, and amo::App::handle driven directly (no FastCGI) with a
// database that cannot be reached.
#include <rapidjson/document.h>
#include <strings.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "app/context.hpp"
#include "app/metrics.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "crypto/crypto.hpp"
#include "http/errors.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "support/app_fixture.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

using amo::core::Error;
using amo::core::Fault;
using amo::http::Request;
using amo::http::Response;
using amo::http::Router;
using amo::test::AppFixture;

namespace {

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

Response tagged(const std::string& tag) { return Response::text(200, tag, "text/plain"); }

amo::http::Handler handler(const std::string& tag) {
  return [tag](const Request&) { return tagged(tag); };
}

// Parses a JSON body; fails the test when it is not a JSON object.
rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  BOOST_TEST_INFO("body: " << body);
  BOOST_TEST(!d.HasParseError());
  BOOST_TEST(d.IsObject());
  return d;
}

// Checks the error envelope {"success":false,"error":{"code","message"}} and returns the code.
std::string error_code(const Response& r) {
  rapidjson::Document d = parse(r.body);
  if (!d.IsObject()) return {};
  BOOST_TEST(d.MemberCount() == 2u);
  BOOST_TEST((d.HasMember("success") && d["success"].IsBool() && !d["success"].GetBool()));
  if (!d.HasMember("error") || !d["error"].IsObject()) {
    BOOST_ERROR("no error object in " << r.body);
    return {};
  }
  const auto& e = d["error"];
  BOOST_TEST(e.MemberCount() == 2u);
  BOOST_TEST(
      (e.HasMember("message") && e["message"].IsString() && e["message"].GetStringLength() > 0));
  BOOST_TEST((e.HasMember("code") && e["code"].IsString()));
  const std::string* ct = r.header("Content-Type");
  BOOST_TEST((ct && contains(*ct, "application/json")));
  return e.HasMember("code") && e["code"].IsString() ? e["code"].GetString() : std::string{};
}

std::string header_or_empty(const Response& r, const std::string& name) {
  const std::string* h = r.header(name);
  return h ? *h : std::string{};
}

// Everything written to fd 2 (where amo::log writes) while it lives.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    int fd = ::mkstemp(path_.data());
    BOOST_REQUIRE(fd >= 0);
    saved_ = ::dup(2);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() {
    restore();
    ::unlink(path_.c_str());
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  // Stops capturing and returns what was written.
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_ = "/tmp/amo-unit-log-XXXXXX";
  int saved_ = -1;
};

std::vector<Fault> all_faults() {
  std::vector<Fault> v;
  for (int i = 0; i <= static_cast<int>(Fault::kInternal); ++i) v.push_back(static_cast<Fault>(i));
  return v;
}
const std::vector<Fault> kAllFaults = all_faults();

}  // namespace

BOOST_AUTO_TEST_SUITE(http)

// ---------------------------------------------------------------- Router

BOOST_AUTO_TEST_CASE(router_api_serves_both_prefixes) {
  Router r;
  r.api("GET", "/status", handler("status"));
  for (const char* path : {"/api/amo-crm/status", "/api/v1/integrations/amo-crm/status"}) {
    BOOST_TEST_CONTEXT(path) {
      auto m = r.match("GET", path);
      BOOST_TEST(m.handler != nullptr);
      BOOST_TEST(m.route == "/status");
      BOOST_TEST(m.allow.empty());
    }
  }
  // Only the exact paths: no trailing slash, no other prefix, no prefix alone.
  for (const char* path : {"/api/amo-crm/status/", "/api/amo-crm/STATUS", "/status", "/api/amo-crm",
                           "/api/amo-crm/", "/api/v1/amo-crm/status", "/api/amo-crm//status", ""}) {
    BOOST_TEST_CONTEXT("'" << path << "'") {
      auto m = r.match("GET", path);
      BOOST_TEST(m.handler == nullptr);
      BOOST_TEST(m.allow.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(router_exact_route_and_404) {
  Router r;
  r.exact("GET", "/healthz", "/healthz", handler("healthz"));
  auto m = r.match("GET", "/healthz");
  BOOST_TEST(m.handler != nullptr);
  BOOST_TEST(m.route == "/healthz");
  // Exact routes are not served under the API prefixes.
  BOOST_TEST(r.match("GET", "/api/amo-crm/healthz").handler == nullptr);
  auto nf = r.match("GET", "/nope");
  BOOST_TEST(nf.handler == nullptr);
  BOOST_TEST(nf.allow.empty());
  BOOST_TEST(nf.route == "unknown");
}

BOOST_AUTO_TEST_CASE(router_405_lists_allowed_methods) {
  Router r;
  r.api("GET", "/disconnect", handler("hook"));
  r.api("POST", "/disconnect", handler("disconnect"));
  r.api("POST", "/exchange-code", handler("exchange"));
  auto m = r.match("DELETE", "/api/amo-crm/disconnect");
  BOOST_TEST(m.handler == nullptr);
  BOOST_TEST(m.allow == "GET, POST");
  BOOST_TEST(m.route == "/disconnect");
  auto g = r.match("GET", "/api/v1/integrations/amo-crm/exchange-code");
  BOOST_TEST(g.handler == nullptr);
  BOOST_TEST(g.allow == "POST");
  // Methods are case-sensitive tokens.
  BOOST_TEST(r.match("post", "/api/amo-crm/exchange-code").handler == nullptr);
  BOOST_TEST(r.match("post", "/api/amo-crm/exchange-code").allow == "POST");
}

BOOST_AUTO_TEST_CASE(router_dispatches_by_method) {
  AppFixture f;
  Router r;
  r.api("GET", "/disconnect", handler("hook"));
  r.api("POST", "/disconnect", handler("disconnect"));
  Request req = AppFixture::req("GET", "/api/amo-crm/disconnect");
  auto get = r.match("GET", "/api/amo-crm/disconnect");
  auto post = r.match("POST", "/api/v1/integrations/amo-crm/disconnect");
  BOOST_REQUIRE(get.handler != nullptr);
  BOOST_REQUIRE(post.handler != nullptr);
  BOOST_TEST((*get.handler)(req).body == "hook");
  BOOST_TEST((*post.handler)(req).body == "disconnect");
}

BOOST_AUTO_TEST_CASE(router_head_falls_back_to_get) {
  AppFixture f;
  Router r;
  r.api("GET", "/status", handler("status"));
  r.api("POST", "/exchange-code", handler("exchange"));
  auto head = r.match("HEAD", "/api/amo-crm/status");
  BOOST_REQUIRE(head.handler != nullptr);
  BOOST_TEST(head.handler == r.match("GET", "/api/amo-crm/status").handler);
  BOOST_TEST((*head.handler)(AppFixture::req("HEAD", "/api/amo-crm/status")).body == "status");
  // No GET to fall back to: 405.
  auto post_only = r.match("HEAD", "/api/amo-crm/exchange-code");
  BOOST_TEST(post_only.handler == nullptr);
  BOOST_TEST(post_only.allow == "POST");
  // An explicit HEAD handler wins.
  r.exact("HEAD", "/x", "/x", handler("head"));
  r.exact("GET", "/x", "/x", handler("get"));
  BOOST_TEST((*r.match("HEAD", "/x").handler)(AppFixture::req("HEAD", "/x")).body == "head");
}

BOOST_AUTO_TEST_CASE(router_routes_listing) {
  Router r;
  r.api("GET", "/status", handler("status"));
  r.api("POST", "/disconnect", handler("d"));
  r.exact("GET", "/healthz", "/healthz", handler("h"));
  auto routes = r.routes();
  std::set<std::pair<std::string, std::string>> got(routes.begin(), routes.end());
  std::set<std::pair<std::string, std::string>> want = {
      {"GET", "/api/amo-crm/status"},
      {"GET", "/api/v1/integrations/amo-crm/status"},
      {"POST", "/api/amo-crm/disconnect"},
      {"POST", "/api/v1/integrations/amo-crm/disconnect"},
      {"GET", "/healthz"},
  };
  BOOST_TEST(routes.size() == want.size());
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_CASE(service_route_table) {
  AppFixture f;
  auto routes = f.app.router().routes();
  std::set<std::pair<std::string, std::string>> got(routes.begin(), routes.end());
  // Every endpoint of docs/API.md (checked under the first prefix; both prefixes below).
  std::vector<std::pair<std::string, std::string>> spec = {
      {"GET", "/healthz"},
      {"GET", "/readyz"},
      {"GET", "/metrics"},
  };
  for (auto& [m, suffix] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/auth-url"},
                                                        {"GET", "/callback"},
                                                        {"POST", "/exchange-code"},
                                                        {"GET", "/status"},
                                                        {"POST", "/disconnect"},
                                                        {"GET", "/disconnect"},
                                                        {"GET", "/leads"},
                                                        {"GET", "/pipelines"},
                                                        {"POST", "/exchange-api-key"},
                                                        {"GET", "/test"}})
    spec.emplace_back(m, std::string(amo::http::kPrefixes[0]) + suffix);
  for (auto& want : spec) {
    BOOST_TEST_CONTEXT(want.first << " " << want.second) { BOOST_TEST(got.count(want) == 1u); }
  }
  // Every API route is served under both prefixes.
  for (auto& [method, path] : got) {
    for (int i = 0; i < 2; ++i) {
      std::string prefix = amo::http::kPrefixes[i];
      if (path.compare(0, prefix.size() + 1, prefix + "/") != 0) continue;
      std::string other = std::string(amo::http::kPrefixes[1 - i]) + path.substr(prefix.size());
      BOOST_TEST_CONTEXT(method << " " << path) { BOOST_TEST(got.count({method, other}) == 1u); }
    }
  }
}

// ---------------------------------------------------------------- error table

BOOST_AUTO_TEST_CASE(error_table_codes_and_statuses) {
  const std::map<Fault, std::pair<int, std::string>> want = {
      {Fault::kBadRequest, {400, "bad_request"}},
      {Fault::kInvalidJson, {400, "invalid_json"}},
      {Fault::kInvalidParameter, {400, "invalid_parameter"}},
      {Fault::kMissingParameter, {400, "missing_parameter"}},
      {Fault::kUnauthorized, {401, "unauthorized"}},
      {Fault::kForbidden, {403, "forbidden"}},
      {Fault::kNotFound, {404, "not_found"}},
      {Fault::kMethodNotAllowed, {405, "method_not_allowed"}},
      {Fault::kPayloadTooLarge, {413, "payload_too_large"}},
      {Fault::kUnsupportedMediaType, {415, "unsupported_media_type"}},
      {Fault::kNotConnected, {409, "not_connected"}},
      {Fault::kReauthRequired, {409, "reauthorization_required"}},
      {Fault::kCodeAlreadyUsed, {409, "code_already_used"}},
      {Fault::kRateLimited, {429, "rate_limited"}},
      // The callback's outcomes: 400 for the request's faults; exchange_failed says why by
      // its status (502 refused or unreadable, 503 unavailable, 504 timed out).
      {Fault::kAccessDenied, {400, "access_denied"}},
      {Fault::kMissingCode, {400, "missing_code"}},
      {Fault::kInvalidState, {400, "invalid_state"}},
      {Fault::kInvalidClient, {400, "invalid_client"}},
      {Fault::kInvalidReferer, {400, "invalid_referer"}},
      {Fault::kAccountNotAllowed, {400, "account_not_allowed"}},
      {Fault::kExchangeFailed, {502, "exchange_failed"}},
      {Fault::kExchangeUnavailable, {503, "exchange_failed"}},
      {Fault::kExchangeTimedOut, {504, "exchange_failed"}},
      {Fault::kRedemptionInProgress, {503, "exchange_failed"}},
      {Fault::kDbUnavailable, {503, "database_unavailable"}},
      {Fault::kDbBusy, {503, "database_unavailable"}},
      {Fault::kAmoCodeRejected, {502, "amo_exchange_failed"}},
      {Fault::kAmoRejected, {502, "amo_error"}},
      {Fault::kAmoBadResponse, {502, "amo_bad_response"}},
      {Fault::kAmoUnavailable, {503, "amo_unavailable"}},
      {Fault::kAmoTimeout, {504, "amo_timeout"}},
      {Fault::kAmoRateLimited, {429, "amo_rate_limited"}},
      {Fault::kAmoForbidden, {403, "forbidden"}},
      {Fault::kInternal, {500, "internal_error"}},
  };
  BOOST_TEST(want.size() == kAllFaults.size());
  for (Fault f : kAllFaults) {
    const auto& i = amo::http::info(f);
    std::string code = i.code;
    BOOST_TEST_CONTEXT("fault " << static_cast<int>(f) << " code " << code) {
      BOOST_TEST(!code.empty());
      bool snake = true;
      for (char c : code)
        snake = snake && (std::islower(static_cast<unsigned char>(c)) || c == '_');
      BOOST_TEST(snake);
      BOOST_TEST(std::string(i.message).size() > 0u);
      BOOST_TEST(i.status == want.at(f).first);
      BOOST_TEST(code == want.at(f).second);
      // Only faults of the request, the domain state and our own limits are 4xx; amoCRM's
      // are 4xx only where the contract says so (its 429 and its 403).
      if (amo::core::from_amo(f) && i.status < 500)
        BOOST_TEST((f == Fault::kAmoRateLimited || f == Fault::kAmoForbidden));
    }
  }
}

BOOST_AUTO_TEST_CASE(error_response_shape) {
  for (Fault e : kAllFaults) {
    const auto& i = amo::http::info(e);
    BOOST_TEST_CONTEXT(i.code) {
      Response r = amo::http::error_response(e);
      BOOST_TEST(r.status == i.status);
      BOOST_TEST(error_code(r) == i.code);
      rapidjson::Document d = parse(r.body);
      BOOST_TEST(std::string(d["error"]["message"].GetString()) == i.message);
      bool retry = i.status == 429 || i.status == 503;
      BOOST_TEST((r.header("Retry-After") != nullptr) == retry);
      if (retry) {
        int secs = std::stoi(header_or_empty(r, "Retry-After"));
        BOOST_TEST(secs >= 1);
      }
      BOOST_TEST((r.header("WWW-Authenticate") != nullptr) == (i.status == 401));
      if (i.status == 401) BOOST_TEST(header_or_empty(r, "WWW-Authenticate") == "Bearer");
    }
  }
}

BOOST_AUTO_TEST_CASE(error_response_message_retry_and_headers) {
  // A custom public message, escaped into valid JSON.
  Response r = amo::http::error_response(Fault::kInvalidParameter,
                                         "limit: \"must\" be 1\xE2\x80\x93"
                                         "250 \\ <b>\n\t\x01");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "invalid_parameter");
  rapidjson::Document d = parse(r.body);
  BOOST_TEST(std::string(d["error"]["message"].GetString()) ==
             "limit: \"must\" be 1\xE2\x80\x93"
             "250 \\ <b>\n\t\x01");

  // Retry-After: explicit value, and the default for 429/503.
  BOOST_TEST(header_or_empty(amo::http::error_response(Error(Fault::kRateLimited, {}, 300)),
                             "Retry-After") == "300");
  BOOST_TEST(header_or_empty(amo::http::error_response(Error(Fault::kDbUnavailable)),
                             "Retry-After") == "1");
  BOOST_TEST(header_or_empty(amo::http::error_response(Error(Fault::kAmoUnavailable, "x", 30)),
                             "Retry-After") == "30");
  BOOST_TEST(!amo::http::error_response(Error(Fault::kAmoTimeout, {}, 30)).header("Retry-After"));

  // 401 always carries WWW-Authenticate: Bearer.
  Response u = amo::http::error_response(Error(Fault::kUnauthorized, "Invalid token: expired"));
  BOOST_TEST(u.status == 401);
  BOOST_TEST(header_or_empty(u, "www-authenticate") == "Bearer");
}

// ---------------------------------------------------------------- Response

BOOST_AUTO_TEST_CASE(response_ok_envelope) {
  Response r = Response::ok(R"({"connected":false,"domain":null})");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"success":true,"data":{"connected":false,"domain":null}})");
  rapidjson::Document d = parse(r.body);
  BOOST_TEST(d["success"].GetBool());
  BOOST_TEST(d["data"].IsObject());
  BOOST_TEST(header_or_empty(r, "content-type") == "application/json; charset=utf-8");
  Response a = Response::ok(R"({"success":true})", 202);
  BOOST_TEST(a.status == 202);
  BOOST_TEST(parse(a.body)["data"]["success"].GetBool());
  BOOST_TEST(Response::ok("[]").body == R"({"success":true,"data":[]})");
}

BOOST_AUTO_TEST_CASE(response_headers_and_helpers) {
  Response r = Response::html(400, "<p>x</p>");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(header_or_empty(r, "Content-Type") == "text/html; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  r.set_header("cache-control", "no-cache");  // same header, case-insensitive: replaced
  BOOST_TEST(r.headers.size() == 2u);
  BOOST_TEST(header_or_empty(r, "CACHE-CONTROL") == "no-cache");
  BOOST_TEST(r.header("Cache") == nullptr);
  BOOST_TEST(r.header("Cache-Control-X") == nullptr);
  Response t = Response::text(200, "ok", "text/plain");
  BOOST_TEST(t.body == "ok");
  BOOST_TEST(header_or_empty(t, "content-type") == "text/plain");
  BOOST_TEST(std::string(amo::http::reason_phrase(200)) == "OK");
  BOOST_TEST(std::string(amo::http::reason_phrase(405)) == "Method Not Allowed");
  BOOST_TEST(std::string(amo::http::reason_phrase(413)) == "Payload Too Large");
  BOOST_TEST(std::string(amo::http::reason_phrase(503)) == "Service Unavailable");
  for (Fault e : kAllFaults)
    BOOST_TEST(std::string(amo::http::reason_phrase(amo::http::info(e).status)) != "Unknown");
}

// ---------------------------------------------------------------- Request

BOOST_AUTO_TEST_CASE(request_params) {
  Request r;
  r.query = "a=1&b=hello+world&c=%41%42%2b&d=%zz%4&e=&f&a=2&na%6De=x&&%3Dk=v%3D&g=%E2%9C%93";
  BOOST_TEST(r.param("a").value_or("?") == "1");  // the first of a repeated name
  BOOST_TEST(r.param("b").value_or("?") == "hello world");
  BOOST_TEST(r.param("c").value_or("?") == "AB+");
  BOOST_TEST(r.param("d").value_or("?") == "%zz%4");  // bad escapes kept as is
  BOOST_TEST(r.param("e").value_or("?") == "");
  BOOST_TEST(r.param("f").value_or("?") == "");      // present without '='
  BOOST_TEST(r.param("name").value_or("?") == "x");  // names are decoded too
  BOOST_TEST(r.param("=k").value_or("?") == "v=");
  BOOST_TEST(r.param("g").value_or("?") == "\xE2\x9C\x93");
  BOOST_TEST(!r.param("missing").has_value());
  BOOST_TEST(!r.param("A").has_value());  // case-sensitive
  BOOST_TEST(!r.param("").has_value());

  auto all = r.params();
  BOOST_TEST(all.size() == 9u);
  BOOST_TEST(all["a"] == "1");
  BOOST_TEST(all["b"] == "hello world");
  BOOST_TEST(all["e"] == "");
  BOOST_TEST(all["f"] == "");
  BOOST_TEST(all.count("name") == 1u);

  Request empty;
  BOOST_TEST(empty.params().empty());
  BOOST_TEST(!empty.param("a").has_value());
  Request amps;
  amps.query = "&&&";
  BOOST_TEST(amps.params().empty());
}

BOOST_AUTO_TEST_CASE(request_headers) {
  Request r;
  r.headers["content-type"] = "application/json";
  BOOST_TEST(r.header("content-type").value_or("") == "application/json");
  BOOST_TEST(!r.header("authorization").has_value());
}

BOOST_AUTO_TEST_CASE(url_decode_cases) {
  using amo::http::url_decode;
  BOOST_TEST(url_decode("") == "");
  BOOST_TEST(url_decode("a+b") == "a b");
  BOOST_TEST(url_decode("a%20b") == "a b");
  BOOST_TEST(url_decode("%2B") == "+");
  BOOST_TEST(url_decode("%2b%2F") == "+/");
  BOOST_TEST(url_decode("%") == "%");
  BOOST_TEST(url_decode("%4") == "%4");
  BOOST_TEST(url_decode("100%") == "100%");
  BOOST_TEST(url_decode("%G1") == "%G1");
  BOOST_TEST(url_decode("%%41") == "%A");
  BOOST_TEST(url_decode("%41") == "A");
  BOOST_TEST(url_decode("x%41") == "xA");
  BOOST_TEST(url_decode("%00").size() == 1u);
  BOOST_TEST(url_decode("%D0%BF%D1%80%D0%B8") == "\xD0\xBF\xD1\x80\xD0\xB8");
}

BOOST_AUTO_TEST_CASE(url_encode_cases) {
  using amo::http::url_decode;
  using amo::http::url_encode;
  BOOST_TEST(url_encode("") == "");
  BOOST_TEST(url_encode("AZaz09-_.~") == "AZaz09-_.~");
  BOOST_TEST(url_encode("a b&c=d/e?f#g+h") == "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh");
  BOOST_TEST(url_encode("\xC3\xA9") == "%C3%A9");
  BOOST_TEST(url_encode(std::string("\0\xff", 2)) == "%00%FF");
  BOOST_TEST(url_encode("foryoure://amo-crm/callback") == "foryoure%3A%2F%2Famo-crm%2Fcallback");
  // Round trip over every byte value.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  BOOST_TEST(url_decode(url_encode(all)) == all);
  std::string random = amo::crypto::random_bytes(512);
  BOOST_TEST(url_decode(url_encode(random)) == random);
}

// ---------------------------------------------------------------- App::handle

BOOST_AUTO_TEST_CASE(app_unknown_path_404) {
  AppFixture f;
  for (const char* path : {"/api/amo-crm/nope", "/", "/api/amo-crm/status/", "/STATUS", ""}) {
    BOOST_TEST_CONTEXT("'" << path << "'") {
      Response r = f.handle(AppFixture::req("GET", path));
      BOOST_TEST(r.status == 404);
      BOOST_TEST(error_code(r) == "not_found");
      BOOST_TEST(r.header("Allow") == nullptr);
      BOOST_TEST(header_or_empty(r, "X-Request-Id").size() > 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(app_wrong_method_405) {
  AppFixture f;
  for (const char* path : {"/api/amo-crm/status", "/api/v1/integrations/amo-crm/status"}) {
    Response r = f.handle(AppFixture::req("POST", path));
    BOOST_TEST(r.status == 405);
    BOOST_TEST(error_code(r) == "method_not_allowed");
    BOOST_TEST(header_or_empty(r, "Allow") == "GET");
  }
  Response p = f.handle(AppFixture::req("PUT", "/api/v1/integrations/amo-crm/disconnect"));
  BOOST_TEST(p.status == 405);
  BOOST_TEST(header_or_empty(p, "Allow") == "GET, POST");
  Response d = f.handle(AppFixture::req("DELETE", "/healthz"));
  BOOST_TEST(d.status == 405);
  BOOST_TEST(header_or_empty(d, "Allow") == "GET");
  // A hostile method is not echoed at length.
  Response w = f.handle(AppFixture::req(std::string(5000, 'X') + "<script>", "/healthz"));
  BOOST_TEST(w.status == 405);
  BOOST_TEST(w.body.size() < 1000u);
  BOOST_TEST(!contains(w.body, "<script>"));
}

BOOST_AUTO_TEST_CASE(app_too_large_413) {
  AppFixture f;
  Request r = AppFixture::req("GET", "/api/amo-crm/status");
  r.headers["content-type"] = "application/json";
  r.headers["authorization"] = "Bearer " + f.valid_token();
  Response resp = f.handle(r, true);
  BOOST_TEST(resp.status == 413);
  BOOST_TEST(error_code(resp) == "payload_too_large");
  BOOST_TEST(header_or_empty(resp, "X-Request-Id").size() > 0u);
}

BOOST_AUTO_TEST_CASE(app_non_json_body_415) {
  AppFixture f;
  for (const char* ct : {"application/x-www-form-urlencoded", "text/plain", "", "application/jsonp",
                         "multipart/form-data; boundary=x"}) {
    BOOST_TEST_CONTEXT("content-type '" << ct << "'") {
      Request r = AppFixture::req("GET", "/api/amo-crm/status");
      if (*ct) r.headers["content-type"] = ct;
      r.headers["authorization"] = "Bearer " + f.valid_token();
      r.body = "code=abc";
      Response resp = f.handle(r);
      BOOST_TEST(resp.status == 415);
      BOOST_TEST(error_code(resp) == "unsupported_media_type");
    }
  }
  // A JSON content type with a body that is not a JSON object: 400 before any handler.
  for (const char* body : {"code=abc", "{\"code\":", "[1]", "\"text\"", "{} {}"}) {
    BOOST_TEST_CONTEXT("body '" << body << "'") {
      Request r = AppFixture::req("GET", "/api/amo-crm/status");
      r.headers["content-type"] = "application/json";
      r.body = body;
      Response resp = f.handle(r);
      BOOST_TEST(resp.status == 400);
      BOOST_TEST(error_code(resp) == "invalid_json");
    }
  }
  // JSON with parameters and any case is accepted (the handler then asks for a token).
  for (const char* ct :
       {"application/json", "Application/JSON; charset=utf-8", "application/json ;charset=UTF-8"}) {
    BOOST_TEST_CONTEXT("content-type '" << ct << "'") {
      Request r = AppFixture::req("GET", "/api/amo-crm/status");
      r.headers["content-type"] = ct;
      r.body = "{}";
      Response resp = f.handle(r);
      BOOST_TEST(resp.status == 401);
    }
  }
}

// A request body with two members of one name, at any depth, is invalid_json on every
// route (the body rule) and in the handlers that read fields; the message names the key.
BOOST_AUTO_TEST_CASE(app_duplicate_json_keys_400) {
  AppFixture f;
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {R"({"code":"a","code":"b"})", "code"},
      {R"({"login":"x","api_key":"k","api_key":"k"})", "api_key"},
      {R"({"code":"a","extra":{"n":[{"z":1,"z":2}]}})", "z"},
      {R"({"code":"a","c\u006fde":"b"})", "code"}};
  for (const char* path :
       {"/api/amo-crm/exchange-code", "/api/v1/integrations/amo-crm/exchange-api-key",
        "/api/amo-crm/status", "/healthz"}) {
    for (auto& [body, key] : bodies) {
      BOOST_TEST_CONTEXT(path << " " << body) {
        Request r = AppFixture::req(
            std::string(path).find("exchange") != std::string::npos ? "POST" : "GET", path);
        r.headers["content-type"] = "application/json";
        r.headers["authorization"] = "Bearer " + f.valid_token();
        r.body = body;
        Response resp = f.handle(r);
        BOOST_TEST(resp.status == 400);
        BOOST_TEST(error_code(resp) == "invalid_json");
        BOOST_TEST(contains(resp.body, "duplicate key \\\"" + key + "\\\""), resp.body);
      }
    }
  }
  // The same fields once each are read (here: the referer is then checked).
  Request r = AppFixture::req("POST", "/api/amo-crm/exchange-code");
  r.headers["content-type"] = "application/json";
  r.headers["authorization"] = "Bearer " + f.valid_token();
  r.body = R"({"code":"a","referer":"evil.example.com"})";
  BOOST_TEST(error_code(f.handle(r)) == "invalid_referer");
}

// exchange-code's referer: up to 1024 characters like its other fields (API.md); what is
// not an allowed host name within that (a URL, a host over 253 bytes) is invalid_referer.
BOOST_AUTO_TEST_CASE(app_exchange_code_referer_bound) {
  AppFixture f;
  auto send = [&](const std::string& referer) {
    Request r = AppFixture::req("POST", "/api/amo-crm/exchange-code");
    r.headers["content-type"] = "application/json";
    r.headers["authorization"] = "Bearer " + f.valid_token();
    r.body = amo::json::write([&](amo::json::Writer& w) {
      w.StartObject();
      amo::json::kv(w, "code", "c");
      amo::json::kv(w, "referer", referer);
      w.EndObject();
    });
    return f.handle(r);
  };
  std::string long_host;  // 300 bytes of labels under amocrm.ru: longer than DNS allows
  while (long_host.size() < 290) long_host += "abcdefghi.";
  long_host += "amocrm.ru";
  for (const std::string& referer :
       {long_host, "https://reforyou.amocrm.ru/leads?x=" + std::string(900, 'x'),
        std::string(1024, 'a')}) {
    BOOST_TEST_CONTEXT(referer.size() << " characters") {
      Response resp = send(referer);
      BOOST_TEST(resp.status == 400);
      BOOST_TEST(error_code(resp) == "invalid_referer");
    }
  }
  Response resp = send(std::string(1025, 'a'));
  BOOST_TEST(resp.status == 400);
  BOOST_TEST(error_code(resp) == "invalid_parameter");
  BOOST_TEST(contains(resp.body, "1024"));
}

BOOST_AUTO_TEST_CASE(app_status_without_valid_token_401) {
  AppFixture f;
  std::vector<std::pair<std::string, std::string>> cases = {
      {"no header", ""},
      {"empty bearer", "Bearer "},
      {"basic", "Basic dXNlcjpwYXNz"},
      {"a valid token under another scheme", "Tokens " + f.valid_token()},
      {"garbage", "Bearer not.a.jwt"},
      {"other secret", "Bearer " + amo::auth::sign_jwt_hs256(R"({"sub":"u1"})",
                                                             "another-secret-0123456789abcdefgh")},
      {"expired", "Bearer " + f.token(R"({"sub":"u1","exp":)" +
                                      std::to_string(std::time(nullptr) - 3600) + "}")},
      {"not yet valid", "Bearer " + f.token(R"({"sub":"u1","nbf":)" +
                                            std::to_string(std::time(nullptr) + 3600) + "}")},
      {"alg none", "Bearer " + amo::crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})") +
                       "." + amo::crypto::base64url_encode(R"({"sub":"u1"})") + "."},
      {"no user claim", "Bearer " + f.token(R"({"exp":9999999999})")},
  };
  for (auto& [name, auth] : cases) {
    BOOST_TEST_CONTEXT(name) {
      Request r = AppFixture::req("GET", "/api/amo-crm/status");
      if (name != "no header") r.headers["authorization"] = auth;
      Response resp = f.handle(r);
      BOOST_TEST(resp.status == 401);
      BOOST_TEST(error_code(resp) == "unauthorized");
      BOOST_TEST(header_or_empty(resp, "WWW-Authenticate") == "Bearer");
      // The token never comes back.
      if (auth.size() > 12) BOOST_TEST(!contains(resp.body, auth.substr(7)));
    }
  }
}

BOOST_AUTO_TEST_CASE(app_status_database_down_503) {
  AppFixture f;
  for (const char* path : {"/api/amo-crm/status", "/api/v1/integrations/amo-crm/status"}) {
    for (const char* method : {"GET", "HEAD"}) {
      BOOST_TEST_CONTEXT(method << " " << path) {
        Request r = AppFixture::req(method, path);
        r.headers["authorization"] = "Bearer " + f.valid_token();
        Response resp = f.handle(r);
        BOOST_TEST(resp.status == 503);
        BOOST_TEST(error_code(resp) == "database_unavailable");
        BOOST_TEST(header_or_empty(resp, "Retry-After").size() > 0u);
        // No connection string, SQL or libpq text in the answer.
        BOOST_TEST(!contains(resp.body, "nonexistent"));
        BOOST_TEST(!contains(resp.body, "postgresql"));
        BOOST_TEST(!contains(resp.body, "SELECT"));
        BOOST_TEST(!contains(resp.body, "socket"));
      }
    }
  }
  // Numeric user ids (the app's) too; and the pool is not left in a bad state.
  Request r = AppFixture::req("GET", "/api/amo-crm/status");
  r.headers["authorization"] = "Bearer " + f.token(R"({"userId":42})");
  BOOST_TEST(f.handle(r).status == 503);
  auto s = f.pool.stats();
  BOOST_TEST(s.in_use == 0);
  BOOST_TEST(s.open == 0);
  BOOST_TEST(f.handle(AppFixture::req("GET", "/readyz")).status == 503);
}

BOOST_AUTO_TEST_CASE(app_request_id) {
  AppFixture f;
  // Generated when absent: distinct per request.
  Response a = f.handle(AppFixture::req("GET", "/healthz"));
  Response b = f.handle(AppFixture::req("GET", "/nope"));
  std::string ida = header_or_empty(a, "X-Request-Id");
  std::string idb = header_or_empty(b, "X-Request-Id");
  BOOST_TEST(ida.size() >= 16u);
  BOOST_TEST(idb.size() >= 16u);
  BOOST_TEST(ida != idb);
  // Kept when nginx passed one ($request_id), on success and on every error.
  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/healthz"},
                                                        {"GET", "/nope"},
                                                        {"PUT", "/healthz"},
                                                        {"GET", "/api/amo-crm/status"}}) {
    Request r = AppFixture::req(method, path);
    r.request_id = "0123456789abcdef0123456789abcdef";
    Response resp = f.handle(r);
    BOOST_TEST(header_or_empty(resp, "X-Request-Id") == "0123456789abcdef0123456789abcdef");
  }
}

BOOST_AUTO_TEST_CASE(app_healthz_and_metrics) {
  AppFixture f;
  Response h = f.handle(AppFixture::req("GET", "/healthz"));
  BOOST_TEST(h.status == 200);
  rapidjson::Document d = parse(h.body);
  BOOST_TEST(d["success"].GetBool());
  BOOST_TEST(std::string(d["data"]["status"].GetString()) == "ok");
  BOOST_TEST(f.handle(AppFixture::req("HEAD", "/healthz")).status == 200);
  // Query strings do not change the route.
  BOOST_TEST(f.handle(AppFixture::req("GET", "/healthz", "verbose=1")).status == 200);

  // Requests are counted by route, method and status, each exactly once; /metrics needs no
  // database. So far: GET /healthz twice, HEAD /healthz once (all 200).
  f.handle(AppFixture::req("GET", "/nope"));
  f.handle(AppFixture::req("GET", "/nope"));
  f.handle(AppFixture::req("PUT", "/healthz"));
  f.handle(AppFixture::req("BREW", "/nope"));
  Response m = f.handle(AppFixture::req("GET", "/metrics"));
  BOOST_TEST(m.status == 200);
  BOOST_TEST(contains(header_or_empty(m, "Content-Type"), "text/plain"));
  BOOST_TEST_INFO("metrics:\n" << m.body);
  for (const char* line :
       {"\namo_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2\n",
        "\namo_http_requests_total{route=\"/healthz\",method=\"HEAD\",status=\"200\"} 1\n",
        // Unrouted and refused methods are one label value: a client cannot add label sets.
        "\namo_http_requests_total{route=\"/healthz\",method=\"other\",status=\"405\"} 1\n",
        "\namo_http_requests_total{route=\"unknown\",method=\"other\",status=\"404\"} 3\n",
        "\namo_http_request_duration_seconds_count{route=\"/healthz\"} 4\n",
        "\namo_http_request_duration_seconds_count{route=\"unknown\"} 3\n",
        "\namo_http_request_duration_seconds_bucket{route=\"unknown\",le=\"+Inf\"} 3\n",
        "\namo_http_requests_in_flight 1\n",  // the scrape itself
        "\namo_db_pool_size 2\n"})
    BOOST_TEST(contains(m.body, line), line);
  // The scrape is counted after it rendered: the next one shows it.
  BOOST_TEST(!contains(m.body, "route=\"/metrics\""));
  Response m2 = f.handle(AppFixture::req("GET", "/metrics"));
  BOOST_TEST(contains(
      m2.body, "\namo_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"} 1\n"));
  BOOST_TEST(contains(
      m2.body, "\namo_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2\n"));
}

BOOST_AUTO_TEST_CASE(app_logs_without_secrets_at_debug) {
  // Every line the app writes at debug while serving a request with a valid token: one JSON
  // request line per request with the fields operators rely on, and no secret anywhere.
  AppFixture f;
  amo::log::set_level(amo::LogLevel::kDebug);
  const std::string token = f.valid_token("log-user-7");
  std::string logged;
  {
    StderrCapture capture;
    Request r = AppFixture::req("GET", "/api/amo-crm/status");
    r.headers["authorization"] = "Bearer " + token;
    r.request_id = "0123456789abcdef0123456789abcdef";
    BOOST_TEST(f.handle(r).status == 503);
    Request cb = AppFixture::req("GET", "/api/amo-crm/callback",
                                 "code=SECRET-CODE-4711&state=SECRET-STATE-0815");
    BOOST_TEST(f.handle(cb).status == 503);
    BOOST_TEST(f.handle(AppFixture::req("GET", "/healthz")).status == 200);
    logged = capture.text();
  }
  BOOST_TEST_INFO("log:\n" << logged);
  size_t lines = 0, requests = 0;
  for (size_t pos = 0; pos < logged.size();) {
    size_t eol = logged.find('\n', pos);
    BOOST_REQUIRE(eol != std::string::npos);  // every line is complete
    rapidjson::Document d = parse(logged.substr(pos, eol - pos));
    BOOST_TEST(d.HasMember("time"));
    BOOST_TEST(d.HasMember("level"));
    if (d.HasMember("msg") && std::string(d["msg"].GetString()) == "request") ++requests;
    ++lines;
    pos = eol + 1;
  }
  BOOST_TEST(requests == 3u);
  BOOST_TEST(lines >= requests);
  BOOST_TEST(contains(logged,
                      "\"request_id\":\"0123456789abcdef0123456789abcdef\",\"method\":"
                      "\"GET\",\"route\":\"/status\",\"status\":503"));
  BOOST_TEST(contains(logged, "\"route\":\"/callback\",\"status\":503"));
  BOOST_TEST(contains(logged, "\"route\":\"/healthz\",\"status\":200"));
  for (const std::string& secret :
       {token, token.substr(token.rfind('.') + 1), amo::test::kUnitJwtSecret,
        f.env.at("AMO_CLIENT_SECRET"), f.env.at("TOKEN_ENCRYPTION_KEY"),
        std::string("SECRET-CODE-4711"), std::string("SECRET-STATE-0815")})
    BOOST_TEST(!contains(logged, secret), secret.substr(0, 12));
  BOOST_TEST(!contains(logged, "eyJ"));  // no JWT of any kind
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_text)

BOOST_AUTO_TEST_CASE(invalid_utf8_never_makes_invalid_json) {
  static const char kBad[] = "ok \xC3\xA9 \xFF\xFE bad \xE2\x82 end \xED\xA0\x80";
  std::string bad(kBad, sizeof kBad - 1);
  std::string out = amo::json::write([&](amo::json::Writer& w) { amo::json::str(w, bad); });
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(out.c_str());
  BOOST_TEST(!d.HasParseError(), out);
  BOOST_TEST(out.find("\xC3\xA9") != std::string::npos);      // valid text kept
  BOOST_TEST(out.find("\xEF\xBF\xBD") != std::string::npos);  // invalid bytes replaced
  std::string cyr = "Квартира на Подолі";
  BOOST_TEST(amo::json::write([&](amo::json::Writer& w) { amo::json::str(w, cyr); }) ==
             "\"" + cyr + "\"");
}

BOOST_AUTO_TEST_SUITE_END()
