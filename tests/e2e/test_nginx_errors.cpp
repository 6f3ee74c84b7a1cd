// nginx's own answers. Every request nginx rejects itself (malformed request lines and
// headers, the header and body limits, TRACE, unknown transfer codings, broken chunked
// bodies) gets the service's JSON error shape with X-Request-Id and Cache-Control:
// no-store, never nginx's HTML page; such requests never reach the service. Sent byte for
// byte through the real nginx of the stack, which runs the shipped nginx files.
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <regex>

#include "e2e_util.hpp"
#include "support/raw_http.hpp"

using namespace amo::test;

namespace {

const std::regex kRequestId("[0-9a-f]{32}");

// The path of an API endpoint under prefix 0 or 1 ("/api/amo-crm/status", ...).
std::string api_path(const Stack& s, const std::string& suffix, int prefix) {
  return s.api(suffix, prefix).substr(s.base.size());
}

// Asserts nginx's JSON error answer and returns its request id.
std::string expect_json_error(const RawResponse& r, long status, const std::string& code) {
  BOOST_TEST_CONTEXT(r.raw.substr(0, 400)) {
    BOOST_TEST(r.status == status);
    BOOST_TEST(r.header("content-type") == "application/json");
    BOOST_TEST(r.header("cache-control") == "no-store");
    BOOST_TEST(r.header("retry-after").empty());
    BOOST_TEST(r.raw.find("<html") == std::string::npos);
    BOOST_TEST(error_code(r) == code);
    BOOST_TEST(!std::string(body_json(r)["error"]["message"].GetString()).empty());
  }
  std::string id = r.header("x-request-id");
  BOOST_TEST(std::regex_match(id, kRequestId), "X-Request-Id: " + id);
  return id;
}

// Waits for nginx's access log line of `uri` with `status` (written after the answer).
bool access_logged(const Stack& s, const std::string& uri, int status) {
  std::string needle = "\"uri\":\"" + uri + "\",\"status\":" + std::to_string(status);
  for (int i = 0; i < 250; ++i) {
    if (read_file(s.dir + "/nginx/access.log").find(needle) != std::string::npos) return true;
    sleep_ms(20);
  }
  return false;
}

// `<directive> <N>s;` in the shipped locations file, in seconds (the stack runs that file).
int shipped_seconds(const std::string& directive) {
  std::smatch m;
  std::string conf = read_file(src_path("nginx/amo-connect.locations.conf"));
  BOOST_REQUIRE_MESSAGE(std::regex_search(conf, m, std::regex("\n" + directive + " ([0-9]+)s;")),
                        directive << " is not set in nginx/amo-connect.locations.conf");
  return std::stoi(m[1]);
}

// Nothing the service logged since `from` is a 5xx, and nginx logged no failure of its own
// (an error page it could not serve, a crash).
void expect_clean_logs(const Stack& s, size_t server_log_from, size_t nginx_log_from) {
  std::string server = s.server_log().substr(server_log_from);
  BOOST_TEST(!std::regex_search(server, std::regex("\"status\":5[0-9][0-9]")), server);
  std::string nginx = read_file(s.dir + "/nginx/error.log").substr(nginx_log_from);
  for (const char* bad : {"[alert]", "[crit]", "[emerg]", "empty URI", "redirection cycle"})
    BOOST_TEST(nginx.find(bad) == std::string::npos, bad + (" in nginx's error log:\n" + nginx));
}

struct Malformed {
  std::string name, request;
  long status;
  std::string code;
};

// The malformed requests, aimed at `path` (an API path of either prefix).
std::vector<Malformed> malformed(const Stack& s, const std::string& path) {
  const std::string host = "Host: localhost\r\n";
  const std::string post =
      "POST " + path + " HTTP/1.1\r\n" + host + "Content-Type: application/json\r\n";
  const std::string jwt = s.auth("nginx-errors-user") + "\r\n";
  std::string five_headers;  // each under 8 KiB, together over 4 × 8 KiB
  for (int i = 0; i < 5; ++i)
    five_headers += "X-Part-" + std::to_string(i) + ": " + std::string(7000, 'p') + "\r\n";
  return {
      {"a 20 kB header line",
       "GET " + path + " HTTP/1.1\r\n" + host + "X-Big: " + std::string(20000, 'a') + "\r\n\r\n",
       431, "header_too_large"},
      {"35 kB of headers in 7 kB lines",
       "GET " + path + " HTTP/1.1\r\n" + host + five_headers + "\r\n", 431, "header_too_large"},
      {"a 10 kB query",
       "GET " + path + "?state=" + std::string(10000, 'q') + " HTTP/1.1\r\n" + host + "\r\n", 414,
       "uri_too_long"},
      {"a doubled Host", "GET " + path + " HTTP/1.1\r\n" + host + "Host: evil.example\r\n\r\n", 400,
       "bad_request"},
      {"a doubled Authorization", "GET " + path + " HTTP/1.1\r\n" + host + jwt + jwt + "\r\n", 400,
       "bad_request"},
      {"no Host in HTTP/1.1", "GET " + path + " HTTP/1.1\r\n\r\n", 400, "bad_request"},
      {"a NUL byte in a header value",
       "GET " + path + " HTTP/1.1\r\n" + host + "X-Nul: a" + std::string(1, '\0') + "b\r\n\r\n",
       400, "bad_request"},
      {"%00 in the path", "GET " + path + "%00.json HTTP/1.1\r\n" + host + "\r\n", 400,
       "bad_request"},
      {"an invalid method", "get " + path + " HTTP/1.1\r\n" + host + "\r\n", 400, "bad_request"},
      {"HTTP/2.0 in an HTTP/1 request line", "GET " + path + " HTTP/2.0\r\n" + host + "\r\n", 505,
       "http_version_not_supported"},
      {"TRACE", "TRACE " + path + " HTTP/1.1\r\n" + host + "\r\n", 405, "method_not_allowed"},
      {"a Content-Length that is not a number", post + "Content-Length: 2x\r\n\r\n{}", 400,
       "bad_request"},
      {"two Content-Lengths", post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
       "bad_request"},
      {"Content-Length with Transfer-Encoding",
       post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "bad_request"},
      {"Transfer-Encoding in HTTP/1.0",
       "POST " + path + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "bad_request"},
      {"a chunk size that is not hex",
       post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "bad_request"},
      {"an unknown Transfer-Encoding", post + "Transfer-Encoding: gzip\r\n\r\n", 501,
       "not_implemented"},
      {"a Content-Length over 128 KiB", post + "Content-Length: 200000\r\n\r\n", 413,
       "payload_too_large"},
      {"a chunk over 128 KiB", post + "Transfer-Encoding: chunked\r\n\r\n30d40\r\n{}", 413,
       "payload_too_large"},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nginx_errors)

BOOST_AUTO_TEST_CASE(malformed_requests_get_json_errors_on_both_prefixes) {
  auto& s = shared_stack();
  size_t server_from = s.server_log().size();
  size_t nginx_from = read_file(s.dir + "/nginx/error.log").size();
  std::vector<std::string> ids;
  int sent = 0;
  for (int prefix = 0; prefix < 2; ++prefix) {
    for (const char* endpoint : {"/status", "/exchange-code", "/callback"}) {
      for (auto& m : malformed(s, api_path(s, endpoint, prefix))) {
        BOOST_TEST_CONTEXT(m.name << " → " << endpoint << " (prefix " << prefix << ")") {
          auto r = raw_http(s.base, m.request);
          ids.push_back(expect_json_error(r, m.status, m.code));
          ++sent;
        }
      }
    }
  }
  BOOST_TEST(sent == 2 * 3 * 19);
  // None of them reached the service.
  std::string server = s.server_log().substr(server_from);
  for (auto& id : ids) BOOST_TEST(server.find(id) == std::string::npos, id);
  expect_clean_logs(s, server_from, nginx_from);
}

BOOST_AUTO_TEST_CASE(outside_the_api_and_garbage) {
  auto& s = shared_stack();
  size_t server_from = s.server_log().size();
  size_t nginx_from = read_file(s.dir + "/nginx/error.log").size();
  expect_json_error(raw_http(s.base, "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"), 404,
                    "not_found");
  expect_json_error(raw_http(s.base, "GET /api/amo-crm HTTP/1.1\r\nHost: localhost\r\n\r\n"), 404,
                    "not_found");
  // The internal location behind the error pages is not reachable from outside.
  expect_json_error(raw_http(s.base, "GET /_amo-connect/error HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                    404, "not_found");
  // A TLS ClientHello on the plain port; a bare line of binary.
  expect_json_error(
      raw_http(s.base,
               std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n"),
      400, "bad_request");
  expect_json_error(raw_http(s.base, std::string("\x00\xff\r\n\r\n", 6)), 400, "bad_request");
  expect_clean_logs(s, server_from, nginx_from);
}

// The limits leave room for what the app and amoCRM really send: these reach the service,
// which answers them itself.
BOOST_AUTO_TEST_CASE(limits_admit_real_requests) {
  auto& s = shared_stack();
  size_t server_from = s.server_log().size();
  size_t nginx_from = read_file(s.dir + "/nginx/error.log").size();
  for (int prefix = 0; prefix < 2; ++prefix) {
    BOOST_TEST_CONTEXT("prefix " << prefix) {
      // A 7 kB Authorization header: the service's own 401.
      auto r =
          http_get(s.api("/status", prefix), {"Authorization: Bearer " + std::string(7000, 'j')});
      BOOST_TEST(r.status == 401);
      BOOST_TEST(error_code(r) == "unauthorized");
      BOOST_TEST(s.server_log().find(r.header("x-request-id")) != std::string::npos);
      // 21 kB of headers in three 7 kB lines next to a valid JWT.
      std::vector<std::string> headers = {s.auth("nginx-errors-user")};
      for (int i = 0; i < 3; ++i)
        headers.push_back("X-Part-" + std::to_string(i) + ": " + std::string(7000, 'p'));
      r = http_get(s.api("/status", prefix), headers);
      BOOST_REQUIRE_EQUAL(r.status, 200);
      BOOST_TEST(body_json(r)["data"]["connected"].IsFalse());
      // A 6 kB callback query: the service's own page for an unknown state.
      r = http_get(s.api("/callback", prefix) + "?code=c&state=" + std::string(6000, 's'));
      BOOST_TEST(r.status == 400);
      BOOST_TEST(r.header("content-type").rfind("text/html", 0) == 0);
      BOOST_TEST(s.server_log().find(r.header("x-request-id")) != std::string::npos);
      // A well-formed chunked body is passed on (the service misses its code).
      auto raw = raw_http(s.base, "POST " + api_path(s, "/exchange-code", prefix) +
                                      " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
                                      s.auth("nginx-errors-user") +
                                      "\r\nContent-Type: application/json\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
      BOOST_TEST(raw.status == 400);
      BOOST_TEST(error_code(raw) == "missing_parameter");
      BOOST_TEST(s.server_log().find(raw.header("x-request-id")) != std::string::npos);
    }
  }
  // A header name with an underscore is dropped: passed on, Accept_Language would reach
  // the service as a second HTTP_ACCEPT_LANGUAGE (the last one wins there) and override
  // the Accept-Language header.
  auto r = http_get(s.api("/callback") + "?code=c&state=unknown",
                    {"Accept-Language: uk", "Accept_Language: ru"});
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("<html lang=\"uk\">") != std::string::npos, r.body.substr(0, 200));
  expect_clean_logs(s, server_from, nginx_from);
}

// A client that stops in the middle of its headers or body is cut off after the shipped
// timeouts: nginx closes the connection without a page (and logs 408).
BOOST_AUTO_TEST_CASE(stalled_clients_are_closed_without_a_page) {
  auto& s = shared_stack();
  int wait_s =
      std::max(shipped_seconds("client_header_timeout"), shipped_seconds("client_body_timeout")) +
      15;
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
  std::string header_path = api_path(s, "/stalled-header-" + tag, 0);
  std::string body_path = api_path(s, "/stalled-body-" + tag, 1);
  RawConnection in_headers(s.base), in_body(s.base);
  in_headers.send("GET " + header_path + " HTTP/1.1\r\nHost: localhost\r\nX-Partial: ");
  in_body.send("POST " + body_path +
               " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{\"code\":");
  for (auto* c : {&in_headers, &in_body}) {
    auto r = c->read_response(wait_s * 1000);
    BOOST_TEST(r.closed);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.raw.empty(), r.raw.substr(0, 300));
  }
  BOOST_TEST(access_logged(s, header_path, 408));
  BOOST_TEST(access_logged(s, body_path, 408));
}

// The service down: nginx's 502 is the JSON service_unavailable with Retry-After.
BOOST_AUTO_TEST_CASE(service_down_is_json_502_on_both_prefixes) {
  auto& s = shared_stack();
  s.server(0).stop(15, 20000);
  std::vector<HttpResult> down;
  for (int prefix = 0; prefix < 2; ++prefix)
    down.push_back(http_get(s.api("/status", prefix), {s.auth("nginx-errors-user")}));
  down.push_back(http_get(s.base + "/healthz"));
  s.restart_server(0);
  for (auto& r : down) {
    BOOST_TEST(r.status == 502);
    BOOST_TEST(r.header("content-type") == "application/json");
    BOOST_TEST(error_code(r) == "service_unavailable");
    BOOST_TEST(r.header("retry-after") == "5");
    BOOST_TEST(r.header("cache-control") == "no-store");
    BOOST_TEST(std::regex_match(r.header("x-request-id"), kRequestId));
  }
}

BOOST_AUTO_TEST_SUITE_END()
