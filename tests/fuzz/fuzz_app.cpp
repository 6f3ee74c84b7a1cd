// The whole application: amo::App::handle through the test AppFixture (every route, no
// FastCGI, a database that cannot be reached, amoCRM pointed at nothing). The input is a
// request in a small text form:
//
//   METHOD /path?query
//   header-name: value          (any number; names are lower-cased as the server does)
//
//   body
//
// "Authorization: Bearer @valid" is replaced by a valid token of the fixture's secret so
// the fuzzer gets past authentication; "x-fuzz-too-large: 1" marks the body as over 64 KiB.
// Besides "no crash, no UB": no input is answered 500, every answer has a request id, a
// JSON answer parses and an error has the service's error shape, the body rule holds, and
// the callback page never carries the state unencoded.
#include <dirent.h>

#include <fstream>
#include <sstream>

#include "fuzz_check.hpp"
#include "support/app_fixture.hpp"

using namespace amo;

namespace {

test::AppFixture& fixture() {
  static test::AppFixture* f = new test::AppFixture();  // lives for the process
  return *f;
}

// Every template's text: a state found in it is no proof of anything.
const std::string& template_text() {
  static const std::string text = [] {
    std::string all;
    const std::string dir = AMO_SOURCE_DIR "/templates";
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        std::ifstream in(dir + "/" + e->d_name);
        std::stringstream ss;
        ss << in.rdbuf();
        all += ss.str();
      }
      closedir(d);
    }
    return all;
  }();
  return text;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

struct Parsed {
  http::Request req;
  bool too_large = false;
};

Parsed parse(std::string_view in) {
  Parsed p;
  std::string_view rest;
  std::string_view line = fuzz::first_line(in, &rest);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp = line.find(' ');
  std::string_view target = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  p.req = test::AppFixture::req(std::string(line.substr(0, sp)), "", "");
  size_t qm = target.find('?');
  p.req.path = std::string(target.substr(0, qm));
  if (qm != std::string_view::npos) p.req.query = std::string(target.substr(qm + 1));
  while (!rest.empty()) {
    line = fuzz::first_line(rest, &rest);
    if (trim(line).empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "x-fuzz-too-large") {
      p.too_large = true;
      continue;
    }
    if (name == "authorization" && value == "Bearer @valid")
      value = "Bearer " + fixture().valid_token();
    if (name == "x-request-id") p.req.request_id = value;
    p.req.headers.emplace(std::move(name), std::move(value));
  }
  p.req.body = std::string(rest);
  return p;
}

bool snake_case(std::string_view s) {
  return !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
}

void check_json_answer(const http::Response& r) {
  rapidjson::Document d;
  fuzz::require_json(r.body, d, "a JSON answer");
  FUZZ_CHECK(d.IsObject(), "a JSON answer is not an object (status %d)", r.status);
  if (r.status < 400) return;
  // {"success":false,"error":{"code":"snake_case","message":"..."}}
  FUZZ_CHECK(d.HasMember("success") && d["success"].IsFalse(), "error %d without success:false",
             r.status);
  FUZZ_CHECK(d.HasMember("error") && d["error"].IsObject(), "error %d without an error object",
             r.status);
  const auto& e = d["error"];
  FUZZ_CHECK(e.HasMember("code") && e["code"].IsString() && snake_case(e["code"].GetString()),
             "error %d without a snake_case code", r.status);
  FUZZ_CHECK(
      e.HasMember("message") && e["message"].IsString() && e["message"].GetStringLength() > 0,
      "error %d without a message", r.status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Parsed p = parse(fuzz::as_text(data, size));
  auto& f = fixture();
  const bool routed = f.app.router().match(p.req.method, p.req.path).handler != nullptr;
  const std::string body = p.req.body;
  const bool has_ct = p.req.headers.count("content-type") > 0;
  const auto state = p.req.param("state");

  http::Response r = f.handle(p.req, p.too_large);

  FUZZ_CHECK(r.status >= 200 && r.status <= 599, "status %d", r.status);
  FUZZ_CHECK(r.status != 500, "an input was answered 500 (an unhandled failure): %s",
             r.body.c_str());
  FUZZ_CHECK(r.header("X-Request-Id") && !r.header("X-Request-Id")->empty(), "no X-Request-Id");
  if (r.status == 401) FUZZ_CHECK(r.header("WWW-Authenticate"), "401 without WWW-Authenticate");
  if (r.status == 405) FUZZ_CHECK(r.header("Allow"), "405 without Allow");
  if (r.status == 429 || r.status == 503) {
    const std::string* ra = r.header("Retry-After");
    FUZZ_CHECK(ra && !ra->empty() && ra->find_first_not_of("0123456789") == std::string::npos &&
                   *ra != "0",
               "%d without a Retry-After of whole seconds", r.status);
  }
  // The order of the one request rule: route, size, then the body's media type.
  if (!routed) FUZZ_CHECK(r.status == 404 || r.status == 405, "unrouted request got %d", r.status);
  if (routed && p.too_large) FUZZ_CHECK(r.status == 413, "a too large body got %d", r.status);
  if (routed && !p.too_large && !body.empty() && !has_ct)
    FUZZ_CHECK(r.status == 415, "a body without Content-Type got %d", r.status);
  if (r.status == 415) FUZZ_CHECK(!body.empty(), "415 without a body");

  const std::string* ct = r.header("Content-Type");
  if (r.status == 304) return 0;
  FUZZ_CHECK(ct != nullptr, "status %d without Content-Type", r.status);
  if (ct->rfind("application/json", 0) == 0) {
    check_json_answer(r);
  } else if (ct->rfind("text/html", 0) == 0) {
    // The state reaches the page only percent-encoded inside the deep link.
    if (state && state->size() >= 6 && (*state)[0] == '<' &&
        template_text().find(*state) == std::string::npos)
      FUZZ_CHECK(r.body.find(*state) == std::string::npos, "the callback page holds the raw state");
  }
  return 0;
}
