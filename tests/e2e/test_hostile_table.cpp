// The hostile request table: about 2500 requests built from small tables, through the
// real nginx with the shipped locations file, to every endpoint under both prefixes. Each
// case has one exact expectation (status, and the JSON `error.code`, or the callback's HTML
// page with that code in its deep link); none may be a 500, a reset or nginx's HTML. The
// database is snapshotted (row count and a hash of every table's contents) before and after:
// only the states auth-url issues to the table's own users may appear, a connected
// bystander stays byte for byte the same, and amoCRM (the simulator) is never called.
#include <boost/test/unit_test.hpp>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "auth/jwt.hpp"
#include "crypto/crypto.hpp"
#include "e2e_util.hpp"
#include "support/raw_http.hpp"
#include "util/json.hpp"

using namespace amo::test;

namespace {

struct Case {
  std::string cls;     // the class, counted in the log
  std::string name;    // what is sent
  std::string method;  // libcurl request (when `raw` is empty)
  std::string url;
  std::vector<std::string> headers;
  std::string body;
  std::string raw;   // else: the request sent byte for byte through a socket
  int slow_ms = 0;   // raw: the body after the blank line goes one byte per slow_ms
  long status = 0;   // the one expected answer
  std::string code;  // its error code; "" for a success
  enum Kind { kJson, kHtml, kText } kind = kJson;
  std::string allow;  // 405: the Allow header
  std::string message_has;
};

struct Endpoint {
  std::string path;    // "/status" (API, two prefixes) or "/healthz" (no prefix)
  std::string method;  // the method it serves
  bool jwt;
  // The answer to a request that passes the body rule and names no parameter.
  long status;
  std::string code;
  Case::Kind kind;
  bool api() const { return path != "/healthz" && path != "/readyz" && path != "/metrics"; }
};

const std::vector<Endpoint>& endpoints() {
  static const std::vector<Endpoint> e = {
      {"/status", "GET", true, 200, "", Case::kJson},
      {"/auth-url", "GET", true, 200, "", Case::kJson},
      {"/callback", "GET", false, 400, "missing_code", Case::kHtml},
      {"/exchange-code", "POST", true, 400, "missing_parameter", Case::kJson},
      {"/disconnect", "POST", true, 200, "", Case::kJson},
      {"/disconnect", "GET", false, 401, "unauthorized", Case::kJson},  // amoCRM's hook
      {"/leads", "GET", true, 409, "not_connected", Case::kJson},
      {"/pipelines", "GET", true, 409, "not_connected", Case::kJson},
      {"/test", "GET", true, 409, "not_connected", Case::kJson},
      {"/exchange-api-key", "POST", true, 400, "missing_parameter", Case::kJson},
      {"/healthz", "GET", false, 200, "", Case::kJson},
      {"/readyz", "GET", false, 200, "", Case::kJson},
      {"/metrics", "GET", false, 200, "", Case::kText},
  };
  return e;
}

// The methods each path serves (Allow).
std::string allow_of(const std::string& path) {
  if (path == "/disconnect") return "GET, POST";
  for (auto& e : endpoints())
    if (e.path == path) return e.method;
  return "";
}

std::string b64(const std::string& s) { return amo::crypto::base64url_encode(s); }

// The endpoints to aim at under prefix p: /healthz, /readyz and /metrics have no prefix,
// so they are taken once (under p == 0).
std::vector<const Endpoint*> under(int p) {
  std::vector<const Endpoint*> out;
  for (auto& e : endpoints())
    if (p == 0 || e.api()) out.push_back(&e);
  return out;
}

// A JSON object of `fields` (name → JSON text of the value), each name once.
std::string obj(const std::map<std::string, std::string>& fields) {
  std::string out = "{";
  for (auto& [k, v] : fields) out += (out.size() > 1 ? ",\"" : "\"") + k + "\":" + v;
  return out + "}";
}

class Table {
 public:
  explicit Table(Stack& s) : s_(s) {}
  Stack& s_;
  std::vector<Case> cases;
  std::set<std::string> actors;  // every user a valid JWT of the table names

  std::string url(const Endpoint& e, int prefix, const std::string& query = "") const {
    std::string u = e.api() ? s_.api(e.path, prefix) : s_.base + e.path;
    return query.empty() ? u : u + "?" + query;
  }
  std::string path(const Endpoint& e, int prefix) const {
    return url(e, prefix).substr(s_.base.size());
  }
  // A valid JWT of `user` (signed with the stack's secret): one of the table's users.
  std::string auth(const std::string& user) {
    actors.insert(user);
    return s_.auth(user);
  }
  std::string signed_token(const std::string& header, const std::string& payload,
                           const std::string& secret) const {
    std::string input = b64(header) + "." + b64(payload);
    return input + "." + b64(amo::crypto::hmac_sha256(secret, input));
  }
  std::string secret() const { return s_.env.at("JWT_SECRET"); }
  // The hook's signature of "<uuid>|<account>".
  std::string hook_sig(const std::string& uuid, const std::string& account) const {
    return amo::crypto::hex(
        amo::crypto::hmac_sha256(s_.env.at("AMO_CLIENT_SECRET"), uuid + "|" + account));
  }
  std::string uuid() const { return s_.env.at("AMO_CLIENT_ID"); }

  // A case against endpoint `e` with the table's user (when it needs a JWT).
  Case base(const std::string& cls, const std::string& name, const Endpoint& e, int prefix,
            const std::string& query = "") {
    Case c;
    c.cls = cls;
    c.name = name + " → " + e.method + " " + path(e, prefix);
    c.method = e.method;
    c.url = url(e, prefix, query);
    if (e.jwt) c.headers.push_back(auth("tbl-user"));
    return c;
  }
  void expect(Case c, long status, const std::string& code, Case::Kind kind = Case::kJson) {
    c.status = status;
    c.code = code;
    c.kind = kind;
    cases.push_back(std::move(c));
  }
  // The endpoint's own answer to a request the body rule lets through.
  void expect_neutral(Case c, const Endpoint& e) { expect(std::move(c), e.status, e.code, e.kind); }
  // A JSON body to endpoint e.
  Case with_body(Case c, const std::string& body) {
    c.headers.push_back("Content-Type: application/json");
    c.body = body;
    return c;
  }
};

std::string nest(int levels) {
  std::string s;
  for (int i = 0; i < levels - 1; ++i) s += "{\"a\":";
  s += "{}";
  s += std::string(static_cast<size_t>(levels - 1), '}');
  return s;
}

// ------------------------------------------------------------------ the classes

void sql_fragments(Table& t) {
  const std::vector<std::string> sql = {
      "' OR '1'='1",
      "'; DROP TABLE amo_connection; --",
      "1; DELETE FROM amo_audit_log",
      "\" OR \"\"=\"",
      "tbl-bystander' --",
      "$$; TRUNCATE amo_oauth_state; $$",
      "1 UNION SELECT access_token_enc FROM amo_connection",
      "tbl-bystander\\'; UPDATE amo_connection SET needs_reauth = true; --"};
  using amo::http::url_encode;
  for (size_t i = 0; i < sql.size(); ++i) {
    const std::string& q = sql[i];
    const std::string enc = url_encode(q);
    const int p = static_cast<int>(i % 2);
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      // In a parameter every endpoint ignores.
      t.expect_neutral(t.base("sql", "?x=<sql>", e, p, "x=" + enc), e);
      // As the JWT's user: that user has no connection (the bystander is not reached).
      if (e.jwt) {
        Case c = t.base("sql", "sub=<sql>", e, 1 - p);
        c.headers = {t.auth(q)};
        t.expect_neutral(c, e);
      }
    }
    const auto& ep = endpoints();
    t.expect(t.base("sql", "callback code/state", ep[2], p, "code=" + enc + "&state=" + enc), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("sql", "callback error", ep[2], p, "error=" + enc + "&code=c"), 400,
             "access_denied", Case::kHtml);
    t.expect(t.base("sql", "callback client_id", ep[2], p, "client_id=" + enc + "&code=c"), 400,
             "invalid_client", Case::kHtml);
    t.expect(t.base("sql", "callback referer", ep[2], p, "code=c&state=s&referer=" + enc), 400,
             "invalid_referer", Case::kHtml);
    t.expect(t.base("sql", "callback from_exchange state", ep[2], p,
                    "from_exchange=1&code=c&state=" + enc),
             400, "invalid_state");
    auto body = [&](std::map<std::string, std::string> m) {
      return amo::json::write([&](amo::json::Writer& w) {
        w.StartObject();
        for (auto& [k, v] : m) amo::json::kv(w, k.c_str(), v);
        w.EndObject();
      });
    };
    t.expect(t.with_body(t.base("sql", "exchange-code state", ep[3], p),
                         body({{"code", q}, {"state", q}})),
             400, "invalid_state");
    t.expect(t.with_body(t.base("sql", "exchange-code referer", ep[3], p),
                         body({{"code", q}, {"state", q}, {"referer", q}})),
             400, "invalid_referer");
    t.expect(t.base("sql", "hook parameters", ep[5], p,
                    "client_uuid=" + enc + "&account_id=" + enc + "&signature=" + enc),
             401, "unauthorized");
    t.expect(t.base("sql", "hook signed for another uuid", ep[5], p,
                    "client_uuid=" + enc + "&account_id=1&signature=" + t.hook_sig(q, "1")),
             401, "unauthorized");
    t.expect(t.base("sql", "hook account_id (signed)", ep[5], p,
                    "client_uuid=" + t.uuid() + "&account_id=" + enc +
                        "&signature=" + t.hook_sig(t.uuid(), q)),
             400, "invalid_parameter");
    t.expect(t.base("sql", "leads query", ep[6], p, "query=" + enc), 409, "not_connected");
    t.expect(t.base("sql", "leads order", ep[6], p, "order=" + enc), 400, "invalid_parameter");
    t.expect(t.base("sql", "leads pipeline_id", ep[6], p, "pipeline_id=" + enc), 400,
             "invalid_parameter");
    t.expect(t.base("sql", "leads created_from", ep[6], p, "created_from=" + enc), 400,
             "invalid_parameter");
    t.expect(t.with_body(t.base("sql", "exchange-api-key login, state a number", ep[9], p),
                         "{\"login\":" + amo::json::write([&](amo::json::Writer& w) {
                           amo::json::str(w, q);
                         }) + ",\"api_key\":\"k\",\"state\":5}"),
             400, "invalid_parameter");
  }
}

void nul_bytes(Table& t) {
  const auto& ep = endpoints();
  for (int p = 0; p < 2; ++p) {
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      t.expect_neutral(t.base("nul", "?x=%00", e, p, "x=%00&y=a%00b"), e);
      // %00 in the path and a NUL in a header: nginx's own 400.
      Case c = t.base("nul", "%00 in the path", e, p);
      c.raw = e.method + " " + t.path(e, p) +
              "%00 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
      t.expect(c, 400, "bad_request");
      c = t.base("nul", "NUL in a header", e, p);
      c.raw = e.method + " " + t.path(e, p) + " HTTP/1.1\r\nHost: localhost\r\nX-A: a" +
              std::string(1, '\0') + "b\r\nConnection: close\r\n\r\n";
      t.expect(c, 400, "bad_request");
      // Raw NUL bytes in a JSON body: not JSON.
      for (const std::string& b :
           {std::string("{\"code\":\"a\0b\"}", 14), std::string("{\"a\":1}\0", 8),
            std::string("\0{}", 3), std::string("{\"a\0\":1}", 8)})
        t.expect(t.with_body(t.base("nul", "raw NUL in the body", e, p), b), 400, "invalid_json");
      // \u0000 escapes are text (a NUL character) in a name the endpoint does not read.
      t.expect_neutral(
          t.with_body(t.base("nul", "\\u0000 in a member", e, p), R"({"x\u0000":"\u0000"})"), e);
    }
    t.expect(t.base("nul", "callback code/state %00", ep[2], p, "code=%00&state=%00"), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("nul", "callback state a%00", ep[2], p, "code=c&state=a%00"), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("nul", "callback referer %00", ep[2], p,
                    "code=c&state=s&referer=reforyou.amocrm.ru%00.evil.com"),
             400, "invalid_referer", Case::kHtml);
    t.expect(t.base("nul", "callback client_id with %00", ep[2], p,
                    "code=c&client_id=" + t.uuid() + "%00"),
             400, "invalid_client", Case::kHtml);
    t.expect(t.with_body(t.base("nul", "exchange-code state \\u0000", ep[3], p),
                         R"({"code":"c\u0000","state":"\u0000"})"),
             400, "invalid_state");
    t.expect(t.with_body(t.base("nul", "exchange-code referer \\u0000", ep[3], p),
                         R"({"code":"c","state":"s","referer":"reforyou.amocrm.ru\u0000"})"),
             400, "invalid_referer");
    t.expect(t.base("nul", "hook account_id 1%00 (signed)", ep[5], p,
                    "client_uuid=" + t.uuid() + "&account_id=1%00&signature=" +
                        t.hook_sig(t.uuid(), std::string("1\0", 2))),
             400, "invalid_parameter");
    t.expect(t.base("nul", "hook uuid%00 (signed)", ep[5], p,
                    "client_uuid=" + t.uuid() + "%00&account_id=1&signature=" +
                        t.hook_sig(t.uuid() + std::string(1, '\0'), "1")),
             401, "unauthorized");
    t.expect(t.base("nul", "leads query %00", ep[6], p, "query=a%00b"), 409, "not_connected");
    t.expect(t.base("nul", "leads page 1%00", ep[6], p, "page=1%00"), 400, "invalid_parameter");
    t.expect(t.base("nul", "leads order id%00", ep[6], p, "order=id%00"), 400, "invalid_parameter");
    t.expect(t.with_body(t.base("nul", "exchange-api-key \\u0000, api_key too long", ep[9], p),
                         "{\"login\":\"a\\u0000\",\"api_key\":\"" + std::string(513, 'k') + "\"}"),
             400, "invalid_parameter");
  }
}

void huge_strings(Table& t) {
  const auto& ep = endpoints();
  const std::string big(100 * 1000, 'A');
  for (int p = 0; p < 2; ++p) {
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      Case c = t.base("100kB", "100 kB query", e, p);
      c.raw = e.method + " " + t.path(e, p) + "?x=" + big +
              " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
      t.expect(c, 414, "uri_too_long");
      c = t.base("100kB", "100 kB header", e, p);
      c.raw = e.method + " " + t.path(e, p) +
              " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + big +
              "\r\nConnection: close\r\n\r\n";
      t.expect(c, 431, "header_too_large");
      // A 100 kB body: the service's 413 (nginx lets 128 KiB through); 200 kB: nginx's.
      t.expect(t.with_body(t.base("100kB", "100 kB body", e, p), "{\"code\":\"" + big + "\"}"), 413,
               "payload_too_large");
      t.expect(t.with_body(t.base("100kB", "200 kB body", e, p), "{\"x\":\"" + big + big + "\"}"),
               413, "payload_too_large");
      // 60 kB of a member no endpoint reads: within the 64 KiB rule.
      t.expect_neutral(t.with_body(t.base("100kB", "60 kB member", e, p),
                                   "{\"pad\":\"" + std::string(60000, 'p') + "\"}"),
                       e);
    }
    const std::string s60(60000, 's');
    for (const char* field : {"code", "state", "referer"}) {
      std::map<std::string, std::string> f = {{"code", "\"c\""}, {"state", "\"s\""}};
      f[field] = "\"" + s60 + "\"";
      t.expect(t.with_body(t.base("100kB", std::string("exchange-code 60 kB ") + field, ep[3], p),
                           obj(f)),
               400, "invalid_parameter");
    }
    for (const char* field : {"login", "api_key", "state"}) {
      std::map<std::string, std::string> f = {{"login", "\"l\""}, {"api_key", "\"k\""}};
      f[field] = "\"" + s60 + "\"";
      t.expect(
          t.with_body(t.base("100kB", std::string("exchange-api-key 60 kB ") + field, ep[9], p),
                      obj(f)),
          400, "invalid_parameter");
    }
    const std::string s6(6000, 'x');
    t.expect(t.base("100kB", "callback 6 kB state", ep[2], p, "code=c&state=" + s6), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("100kB", "callback 6 kB referer", ep[2], p, "code=c&state=s&referer=" + s6),
             400, "invalid_referer", Case::kHtml);
    t.expect(t.base("100kB", "callback 6 kB client_id", ep[2], p, "code=c&client_id=" + s6), 400,
             "invalid_client", Case::kHtml);
    // No amoCRM code is that long: the request's fault (400), never a 5xx to alert on.
    t.expect(t.base("100kB", "callback 6 kB code", ep[2], p, "code=" + s6 + "&state=s"), 400,
             "missing_code", Case::kHtml);
    t.expect(t.base("100kB", "leads 6 kB query", ep[6], p, "query=" + s6), 400,
             "invalid_parameter");
    t.expect(t.base("100kB", "leads 6 kB order", ep[6], p, "order=" + s6), 400,
             "invalid_parameter");
    t.expect(t.base("100kB", "hook 6 kB signature", ep[5], p,
                    "client_uuid=" + t.uuid() + "&account_id=1&signature=" + s6),
             401, "unauthorized");
  }
}

void numbers(Table& t) {
  const auto& ep = endpoints();
  const std::vector<std::string> bad = {"-1",
                                        "0",
                                        "1.5",
                                        "1e3",
                                        "1E3",
                                        "0x10",
                                        "+1",
                                        "%201",
                                        "1%20",
                                        "99999999999999999999",
                                        "9223372036854775808",
                                        "-9223372036854775809",
                                        "1e308",
                                        "NaN",
                                        "Infinity",
                                        "1,0",
                                        "%D9%A1",
                                        ""};
  int i = 0;
  for (const char* param : {"page", "limit", "pipeline_id", "responsible_user_id"})
    for (auto& v : bad)
      t.expect(t.base("numbers", std::string(param) + "=" + v, ep[6], i++ % 2,
                      std::string(param) + "=" + v),
               400, "invalid_parameter");
  for (auto& v : bad)
    t.expect(t.base("numbers", "status_id=" + v, ep[6], i++ % 2, "pipeline_id=1&status_id=" + v),
             400, "invalid_parameter");
  // The bounds: the last value in is read, the first out is refused.
  const std::vector<std::pair<std::string, long>> bounds = {
      {"page=100000", 409},
      {"page=100001", 400},
      {"limit=250", 409},
      {"limit=251", 400},
      {"limit=1", 409},
      {"page=1", 409},
      {"pipeline_id=999999999999", 409},
      {"pipeline_id=1000000000000", 400},
      {"responsible_user_id=999999999999", 409},
      {"responsible_user_id=1000000000000", 400},
      {"pipeline_id=1&status_id=999999999999", 409},
      {"status_id=5", 400},
      {"created_from=0", 409},
      {"created_from=999999999999", 409},
      {"created_from=9999999999999", 400},
      {"created_from=-1", 400},
      {"created_from=1e10", 400},
      {"created_from=1.5", 400},
      {"created_from=2&created_to=1", 400},
      {"created_to=99999999999999999999", 400}};
  for (auto& [q, st] : bounds)
    t.expect(t.base("numbers", q, ep[6], i++ % 2, q), st,
             st == 409 ? "not_connected" : "invalid_parameter");
  // Numbers in JSON bodies: out of double range is not JSON; a number where text is due is
  // invalid_parameter; numbers no endpoint reads are fine.
  for (int p = 0; p < 2; ++p) {
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      t.expect(t.with_body(t.base("numbers", "1e400", e, p), R"({"x":1e400})"), 400,
               "invalid_json");
      t.expect(t.with_body(t.base("numbers", "-1e400", e, p), R"({"x":-1e400})"), 400,
               "invalid_json");
      t.expect_neutral(
          t.with_body(t.base("numbers", "huge integer, -0, 1e308", e, p),
                      R"({"x":123456789012345678901234567890,"y":-0,"z":1e308,"w":-1.5e-300})"),
          e);
    }
    for (const char* v : {"1", "-1", "0", "1.5", "1e308", "123456789012345678901234567890"}) {
      t.expect(t.with_body(t.base("numbers", std::string("exchange-code code=") + v, ep[3], p),
                           std::string("{\"code\":") + v + "}"),
               400, "invalid_parameter");
      t.expect(t.with_body(t.base("numbers", std::string("exchange-api-key login=") + v, ep[9], p),
                           std::string("{\"login\":") + v + ",\"api_key\":\"k\"}"),
               400, "invalid_parameter");
    }
    for (const char* v : {"-1", "1.5", "1e3", "99999999999999999999", "0x1f", "%2B1", ""})
      t.expect(t.base("numbers", std::string("hook account_id=") + v + " (signed)", ep[5], p,
                      "client_uuid=" + t.uuid() + "&account_id=" + v +
                          "&signature=" + t.hook_sig(t.uuid(), amo::http::url_decode(v))),
               400, "invalid_parameter");
  }
}

void repeated(Table& t) {
  const auto& ep = endpoints();
  const std::string sig999 = t.hook_sig(t.uuid(), "999999999");
  for (int p = 0; p < 2; ++p) {
    // The first of a repeated name counts.
    t.expect(t.base("repeated", "page=abc&page=1", ep[6], p, "page=abc&page=1"), 400,
             "invalid_parameter");
    t.expect(t.base("repeated", "page=1&page=abc", ep[6], p, "page=1&page=abc"), 409,
             "not_connected");
    t.expect(t.base("repeated", "limit=1&limit=999", ep[6], p, "limit=1&limit=999"), 409,
             "not_connected");
    t.expect(t.base("repeated", "order=id&order=evil", ep[6], p, "order=id&order=evil"), 409,
             "not_connected");
    t.expect(t.base("repeated", "query twice", ep[6], p, "query=a&query=%C3%28"), 409,
             "not_connected");
    t.expect(t.base("repeated", "code=&code=a", ep[2], p, "code=&code=a&state=s"), 400,
             "missing_code", Case::kHtml);
    t.expect(t.base("repeated", "code=a&code=", ep[2], p, "code=a&code=&state=s"), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("repeated", "state=&state=s", ep[2], p, "code=c&state=&state=s"), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("repeated", "client_id twice", ep[2], p,
                    "code=c&state=s&client_id=evil&client_id=" + t.uuid()),
             400, "invalid_client", Case::kHtml);
    t.expect(t.base("repeated", "from_exchange=1&from_exchange=0", ep[2], p,
                    "from_exchange=1&from_exchange=0"),
             400, "missing_code");
    t.expect(t.base("repeated", "from_exchange=0&from_exchange=1", ep[2], p,
                    "from_exchange=0&from_exchange=1"),
             400, "missing_code", Case::kHtml);
    t.expect(t.base("repeated", "x twice", ep[0], p, "x=1&x=2&x=3"), 200, "");
    // The hook: the values signed are the values used.
    t.expect(t.base("repeated", "hook: first values signed", ep[5], p,
                    "client_uuid=" + t.uuid() +
                        "&client_uuid=evil&account_id=999999999&account_id=1&signature=" + sig999 +
                        "&signature=00"),
             200, "");
    t.expect(t.base("repeated", "hook: second values signed", ep[5], p,
                    "client_uuid=evil&client_uuid=" + t.uuid() +
                        "&account_id=1&account_id=999999999&signature=" + sig999),
             401, "unauthorized");
    t.expect(t.base("repeated", "hook: signature twice, first wrong", ep[5], p,
                    "client_uuid=" + t.uuid() +
                        "&account_id=999999999&signature=00&signature=" + sig999),
             401, "unauthorized");
  }
}

void duplicate_keys(Table& t) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {R"({"code":"a","code":"b"})", "code"},
      {R"({"code":"a","state":"s","code":"a"})", "code"},
      {R"({"login":"l","api_key":"k","login":"m"})", "login"},
      {R"({"code":"a","c\u006fde":"b"})", "code"},
      {R"({"a":{"b":{"c":1,"c":2}}})", "c"},
      {R"({"x":[{"y":1},{"y":2,"y":3}]})", "y"}};
  for (int p = 0; p < 2; ++p)
    for (const Endpoint* e : under(p))
      for (auto& [b, key] : bodies) {
        Case c = t.with_body(t.base("duplicate keys", b, *e, p), b);
        c.message_has = "duplicate key \"" + key + "\"";
        t.expect(c, 400, "invalid_json");
      }
  // Names that only look alike are different names.
  const auto& ep = endpoints();
  for (int p = 0; p < 2; ++p) {
    t.expect(t.with_body(t.base("duplicate keys", "code and Code", ep[3], p),
                         R"({"code":"a","Code":"b","state":"s"})"),
             400, "invalid_state");
    t.expect(t.with_body(t.base("duplicate keys", "one name in sibling objects", ep[0], p),
                         R"({"a":{"x":1},"b":{"x":2}})"),
             200, "");
  }
}

void deep_nesting(Table& t) {
  for (int p = 0; p < 2; ++p)
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      t.expect_neutral(t.with_body(t.base("deep nesting", "32 levels", e, p), nest(32)), e);
      t.expect(t.with_body(t.base("deep nesting", "33 levels", e, p), nest(33)), 400,
               "invalid_json");
      t.expect(t.with_body(t.base("deep nesting", "20000 arrays", e, p),
                           "{\"a\":" + std::string(20000, '[') + std::string(20000, ']') + "}"),
               400, "invalid_json");
      t.expect(t.with_body(t.base("deep nesting", "20000 unclosed arrays", e, p),
                           "{\"a\":" + std::string(20000, '[')),
               400, "invalid_json");
      t.expect(t.with_body(t.base("deep nesting", "100000 arrays", e, p),
                           std::string(100000, '[') + std::string(100000, ']')),
               413, "payload_too_large");
      t.expect_neutral(t.with_body(t.base("deep nesting", "brackets in a string", e, p),
                                   "{\"a\":\"" + std::string(5000, '[') + "\"}"),
                       e);
    }
}

void wrong_types(Table& t) {
  const auto& ep = endpoints();
  for (int p = 0; p < 2; ++p) {
    for (const Endpoint* e : under(p))
      for (const char* b : {"[]", "\"text\"", "1", "null", "true", "[{\"code\":\"a\"}]", "{\"a\":1",
                            "{'a':1}", "{\"a\":1,}", "{} {}"})
        t.expect(t.with_body(t.base("wrong types", std::string("body ") + b, *e, p), b), 400,
                 "invalid_json");
    for (const char* v : {"null", "true", "[]", "{}", "[\"a\"]", "{\"a\":\"b\"}"}) {
      for (const char* f : {"code", "state", "referer"}) {
        std::map<std::string, std::string> m = {{"code", "\"c\""}, {"state", "\"s\""}};
        m[f] = v;
        t.expect(t.with_body(
                     t.base("wrong types", std::string("exchange-code ") + f + "=" + v, ep[3], p),
                     obj(m)),
                 400, "invalid_parameter");
      }
      for (const char* f : {"login", "api_key", "state"}) {
        std::map<std::string, std::string> m = {{"login", "\"l\""}, {"api_key", "\"k\""}};
        m[f] = v;
        t.expect(t.with_body(t.base("wrong types", std::string("exchange-api-key ") + f + "=" + v,
                                    ep[9], p),
                             obj(m)),
                 400, "invalid_parameter");
      }
    }
    t.expect(
        t.with_body(t.base("wrong types", "exchange-code code empty", ep[3], p), R"({"code":""})"),
        400, "missing_parameter");
    t.expect(t.with_body(t.base("wrong types", "exchange-api-key login empty", ep[9], p),
                         R"({"login":"","api_key":"k"})"),
             400, "missing_parameter");
    // A body in another media type.
    for (const Endpoint* e : under(p))
      for (const char* ct :
           {"text/plain", "application/x-www-form-urlencoded", "application/jsonx"}) {
        Case c = t.base("wrong types", std::string("Content-Type ") + ct, *e, p);
        c.headers.push_back(std::string("Content-Type: ") + ct);
        c.body = "{\"code\":\"a\"}";
        t.expect(c, 415, "unsupported_media_type");
      }
  }
}

void wrong_methods(Table& t) {
  std::set<std::string> paths;
  for (auto& e : endpoints()) paths.insert(e.path);
  for (int p = 0; p < 2; ++p)
    for (auto& path : paths) {
      const Endpoint* e = nullptr;
      for (const Endpoint* x : under(p))
        if (x->path == path) e = x;
      if (!e) continue;
      std::string allow = allow_of(path);
      for (const char* m :
           {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "CONNECTX"}) {
        if (allow.find(m) != std::string::npos) continue;
        Case c = t.base("wrong methods", m, *e, p);
        c.method = m;
        c.allow = allow;
        t.expect(c, 405, "method_not_allowed");
      }
      // TRACE: nginx's own 405.
      Case c = t.base("wrong methods", "TRACE", *e, p);
      c.raw =
          "TRACE " + t.path(*e, p) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
      t.expect(c, 405, "method_not_allowed");
    }
}

void bad_utf8(Table& t) {
  const auto& ep = endpoints();
  const std::vector<std::string> bad = {"%C3%28",    "%C0%AF",       "%E0%80%AF",       "%ED%A0%80",
                                        "%ED%BF%BF", "%F4%90%80%80", "%F8%88%80%80%80", "%FF",
                                        "%80",       "%C3",          "a%E2%82"};
  for (size_t i = 0; i < bad.size(); ++i) {
    const int p = static_cast<int>(i % 2);
    const std::string& v = bad[i];
    t.expect(t.base("utf-8", "leads query=" + v, ep[6], p, "query=" + v), 400, "invalid_parameter");
    t.expect(t.base("utf-8", "callback state=" + v, ep[2], p, "code=c&state=" + v), 400,
             "invalid_state", Case::kHtml);
    t.expect(t.base("utf-8", "callback referer=" + v, ep[2], p,
                    "code=c&state=s&referer=x" + v + ".amocrm.ru"),
             400, "invalid_referer", Case::kHtml);
    t.expect_neutral(t.base("utf-8", "status x=" + v, ep[0], 1 - p, "x=" + v), ep[0]);
    // A user id that is not UTF-8: the JWT is refused.
    Case c = t.base("utf-8", "JWT sub=" + v, ep[0], p);
    c.headers = {
        bearer(t.signed_token(R"({"alg":"HS256","typ":"JWT"})",
                              "{\"sub\":\"" + amo::http::url_decode(v) + "\"}", t.secret()))};
    t.expect(c, 401, "unauthorized");
  }
  t.expect(t.base("utf-8", "leads query, a valid 4-byte character", ep[6], 0, "query=%F0%9F%92%A9"),
           409, "not_connected");
  const std::vector<std::string> bodies = {"{\"code\":\"\xC3\x28\"}",
                                           "{\"code\":\"\xC0\xAF\"}",
                                           "{\"code\":\"\xE0\x80\xAF\"}",
                                           "{\"code\":\"\xED\xA0\x80\"}",
                                           "{\"code\":\"\xF4\x90\x80\x80\"}",
                                           "{\"\xFF\":1}",
                                           "{\"code\":\"\\ud800\"}",
                                           "{\"code\":\"\\udc00\"}",
                                           "{\"code\":\"\\ud800\\u0041\"}",
                                           "{\"\\udfff\":1}",
                                           "{\"a\":[\"\\ud83d\"]}"};
  for (int p = 0; p < 2; ++p)
    for (const Endpoint* ep_ : under(p)) {
      const Endpoint& e = *ep_;
      for (auto& b : bodies)
        t.expect(t.with_body(t.base("utf-8", "body " + b, e, p), b), 400, "invalid_json");
      t.expect_neutral(
          t.with_body(t.base("utf-8", "a surrogate pair", e, p), R"({"x":"\ud83d\udca9"})"), e);
    }
}

void bad_jwts(Table& t) {
  const std::string secret = t.secret();
  const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto good_payload = std::string(R"({"sub":"tbl-user","exp":)") + std::to_string(now + 3600) + "}";
  auto tok = [&](const std::string& h, const std::string& pl) {
    return t.signed_token(h, pl, secret);
  };
  const std::vector<std::pair<std::string, std::string>> auths = {
      {"no Authorization", ""},
      {"Bearer and nothing", "Authorization: Bearer "},
      {"Basic", "Authorization: Basic dGJsLXVzZXI6eA=="},
      {"alg none, no signature", "Authorization: Bearer " + b64(R"({"alg":"none","typ":"JWT"})") +
                                     "." + b64(good_payload) + "."},
      {"alg none, signed", "Authorization: Bearer " + tok(R"({"alg":"none"})", good_payload)},
      {"alg None", "Authorization: Bearer " + tok(R"({"alg":"None"})", good_payload)},
      {"alg hs256", "Authorization: Bearer " + tok(R"({"alg":"hs256"})", good_payload)},
      {"alg HS512", "Authorization: Bearer " + tok(R"({"alg":"HS512"})", good_payload)},
      {"alg RS256", "Authorization: Bearer " + tok(R"({"alg":"RS256"})", good_payload)},
      {"no alg", "Authorization: Bearer " + tok(R"({"typ":"JWT"})", good_payload)},
      {"alg twice",
       "Authorization: Bearer " + tok(R"({"alg":"HS256","alg":"none"})", good_payload)},
      {"crit", "Authorization: Bearer " + tok(R"({"alg":"HS256","crit":["exp"]})", good_payload)},
      {"expired", "Authorization: Bearer " +
                      tok(hs256, R"({"sub":"tbl-user","exp":)" + std::to_string(now - 3600) + "}")},
      {"not yet valid",
       "Authorization: Bearer " +
           tok(hs256, R"({"sub":"tbl-user","nbf":)" + std::to_string(now + 3600) + "}")},
      {"exp a string",
       "Authorization: Bearer " + tok(hs256, R"({"sub":"tbl-user","exp":"9999999999"})")},
      {"another secret",
       "Authorization: Bearer " + t.signed_token(hs256, good_payload, secret + "x")},
      {"signature cut",
       "Authorization: Bearer " +
           tok(hs256, good_payload).substr(0, tok(hs256, good_payload).size() - 3)},
      {"no user claim", "Authorization: Bearer " + tok(hs256, R"({"name":"tbl-user"})")},
      {"sub empty", "Authorization: Bearer " + tok(hs256, R"({"sub":""})")},
      {"sub an object", "Authorization: Bearer " + tok(hs256, R"({"sub":{"id":"tbl-user"}})")},
      {"sub 1.5", "Authorization: Bearer " + tok(hs256, R"({"sub":1.5})")},
      {"sub 129 characters",
       "Authorization: Bearer " + tok(hs256, "{\"sub\":\"" + std::string(129, 'u') + "\"}")},
      {"sub with \\u0000", "Authorization: Bearer " + tok(hs256, R"({"sub":"tbl\u0000user"})")},
      {"sub \\ud800", "Authorization: Bearer " + tok(hs256, R"({"sub":"\ud800"})")},
      {"sub twice",
       "Authorization: Bearer " + tok(hs256, R"({"sub":"tbl-user","sub":"tbl-bystander"})")},
      {"payload not JSON", "Authorization: Bearer " + tok(hs256, "tbl-user")},
      {"two parts", "Authorization: Bearer " + b64(hs256) + "." + b64(good_payload)},
      {"four parts", "Authorization: Bearer " + tok(hs256, good_payload) + ".x"},
  };
  int i = 0;
  for (auto& e : endpoints()) {
    if (!e.jwt) continue;
    for (auto& [name, header] : auths) {
      for (int p = 0; p < 2; ++p) {
        Case c = t.base("JWT", name, e, (p + i) % 2);
        c.headers.clear();
        if (!header.empty()) c.headers.push_back(header);
        t.expect(c, 401, "unauthorized");
      }
    }
    ++i;
  }
}

void slow_bodies(Table& t) {
  const auto& ep = endpoints();
  auto slow = [&](const Endpoint& e, int p, const std::string& body, bool chunked, long st,
                  const std::string& code, Case::Kind kind) {
    Case c =
        t.base("slow body", (chunked ? "chunked, byte by byte: " : "byte by byte: ") + body, e, p);
    std::string head =
        e.method + " " + t.path(e, p) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (e.jwt) head += t.auth("tbl-user") + "\r\n";
    head += "Content-Type: application/json\r\n";
    if (chunked) {
      std::string chunks;
      for (char ch : body) chunks += "1\r\n" + std::string(1, ch) + "\r\n";
      c.raw = head + "Transfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n";
    } else {
      c.raw = head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    c.slow_ms = chunked ? 5 : 20;
    t.expect(c, st, code, kind);
  };
  for (int p = 0; p < 2; ++p) {
    slow(ep[3], p, R"({"code":"c","state":"slow"})", false, 400, "invalid_state", Case::kJson);
    slow(ep[3], p, R"({"code":"a","code":"b"})", p == 1, 400, "invalid_json", Case::kJson);
    slow(ep[0], p, R"({"x":[1,2,3]})", p == 0, 200, "", Case::kJson);
    slow(ep[9], p, R"({"login":"l"})", false, 400, "missing_parameter", Case::kJson);
  }
}

// ------------------------------------------------------------------ running and checking

HttpResult send(const Stack& s, const Case& c) {
  if (c.raw.empty()) return http(c.method, c.url, c.headers, c.body);
  if (!c.slow_ms) return raw_http(s.base, c.raw);
  size_t head_end = c.raw.find("\r\n\r\n") + 4;
  RawConnection conn(s.base);
  conn.send(c.raw.substr(0, head_end));
  for (size_t i = head_end; i < c.raw.size(); ++i) {
    sleep_ms(c.slow_ms);
    conn.send(c.raw.substr(i, 1));
  }
  return conn.read_response(10000);
}

// Empty when the answer is the expected one, else what is wrong.
std::string check(const Case& c, const HttpResult& r) {
  std::ostringstream out;
  if (r.status != c.status) out << "status " << r.status << " (expected " << c.status << "); ";
  std::string ct = r.header("content-type");
  if (r.header("x-request-id").empty()) out << "no X-Request-Id; ";
  if (c.kind == Case::kHtml) {
    if (ct.rfind("text/html", 0) != 0) out << "content-type " << ct << "; ";
    if (!c.code.empty() && r.body.find("?error=" + c.code) == std::string::npos)
      out << "no ?error=" << c.code << " in the page; ";
    if (r.body.find("<script>alert") != std::string::npos) out << "reflected markup; ";
  } else if (c.kind == Case::kText) {
    if (ct.rfind("text/plain", 0) != 0) out << "content-type " << ct << "; ";
  } else {
    if (ct.rfind("application/json", 0) != 0) out << "content-type " << ct << "; ";
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    if (d.HasParseError() || !d.IsObject()) {
      out << "not a JSON object; ";
    } else if (c.code.empty()) {
      if (!d.HasMember("success") || !d["success"].IsTrue()) out << "not a success; ";
    } else {
      std::string code = d.HasMember("error") && d["error"].IsObject() &&
                                 d["error"].HasMember("code") && d["error"]["code"].IsString()
                             ? d["error"]["code"].GetString()
                             : "";
      if (code != c.code) out << "code '" << code << "' (expected " << c.code << "); ";
      if (!c.message_has.empty() && !code.empty()) {
        // The message is JSON text: compare the decoded form.
        std::string msg = d["error"].HasMember("message") && d["error"]["message"].IsString()
                              ? d["error"]["message"].GetString()
                              : "";
        if (msg.find(c.message_has) == std::string::npos) out << "message '" << msg << "'; ";
      }
    }
  }
  if (c.status == 405 && !c.allow.empty() && r.header("allow") != c.allow)
    out << "Allow '" << r.header("allow") << "' (expected " << c.allow << "); ";
  if (c.status == 401 && c.cls == "JWT" && r.header("www-authenticate").rfind("Bearer", 0) != 0)
    out << "no WWW-Authenticate: Bearer; ";
  if (!out.str().empty()) out << "body: " << r.body.substr(0, 300);
  return out.str();
}

// Row count and content hash of every table; rows of the table's own users (the states
// auth-url issued them) are left out where a table has a user_id, except amo_connection,
// which must not change at all.
std::map<std::string, std::string> snapshot(const Stack& s, const std::set<std::string>& actors) {
  std::string list;
  for (auto& a : actors) {
    std::string q;  // a SQL literal: quotes doubled (the users are the table's own strings)
    for (char ch : a) q += ch == '\'' ? std::string("''") : std::string(1, ch);
    list += (list.empty() ? "'" : ",'") + q + "'";
  }
  std::map<std::string, std::string> out;
  std::string tables = s.pg->psql(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
      "AND table_type = 'BASE TABLE' ORDER BY 1");
  std::istringstream in(tables);
  std::string name;
  while (std::getline(in, name)) {
    if (name.empty()) continue;
    bool has_user =
        s.pg->psql(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = '" +
            name + "' AND column_name = 'user_id'") == "1";
    std::string where = has_user && name != "amo_connection" && !list.empty()
                            ? " WHERE user_id IS NULL OR user_id NOT IN (" + list + ")"
                            : "";
    out[name] = s.pg->psql(
        "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(t::text, '|' "
        "ORDER BY t::text), '')) FROM " +
        name + " t" + where);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_table)

BOOST_AUTO_TEST_CASE(every_endpoint_every_class_one_exact_answer) {
  auto& s = shared_stack();
  s.sim_reset();
  connect_user(s, "tbl-bystander");
  const std::string bystander_row =
      s.pg->psql("SELECT t::text FROM amo_connection t WHERE user_id = 'tbl-bystander'");
  BOOST_REQUIRE(!bystander_row.empty());

  Table t(s);
  sql_fragments(t);
  nul_bytes(t);
  huge_strings(t);
  numbers(t);
  repeated(t);
  duplicate_keys(t);
  deep_nesting(t);
  wrong_types(t);
  wrong_methods(t);
  bad_utf8(t);
  bad_jwts(t);
  slow_bodies(t);

  const auto before = snapshot(s, t.actors);
  const std::string sim_before = http_get(s.sim + "/_sim/counters").body;
  size_t server_from = s.server_log().size();

  std::map<std::string, int> per_class, failed_class;
  int failed = 0;
  for (const Case& c : t.cases) {
    ++per_class[c.cls];
    std::string wrong = check(c, send(s, c));
    if (!wrong.empty()) {
      ++failed;
      ++failed_class[c.cls];
      if (failed <= 60) BOOST_ERROR("[" << c.cls << "] " << c.name << ": " << wrong);
    }
  }
  for (auto& [cls, n] : per_class)
    BOOST_TEST_MESSAGE("hostile table: "
                       << n << " cases of class '" << cls << "'"
                       << (failed_class[cls] ? " (" + std::to_string(failed_class[cls]) + " wrong)"
                                             : ""));
  BOOST_TEST_MESSAGE("hostile table: " << t.cases.size() << " cases in all");
  BOOST_TEST(failed == 0);
  BOOST_TEST(t.cases.size() >= 900u);

  // Nothing changed where nothing should, amoCRM was never called, the server logged no
  // 5xx, and the bystander is still connected, its row byte for byte the same.
  const auto after = snapshot(s, t.actors);
  BOOST_TEST(before.count("amo_connection") == 1u);
  BOOST_TEST(before.count("amo_audit_log") == 1u);
  for (auto& [table, sum] : before) {
    BOOST_TEST_MESSAGE("hostile table: " << table << ": " << sum);
    BOOST_TEST(after.at(table) == sum, table << ": " << sum << " → " << after.at(table));
  }
  BOOST_TEST(http_get(s.sim + "/_sim/counters").body == sim_before);
  BOOST_TEST(s.pg->psql("SELECT t::text FROM amo_connection t WHERE user_id = 'tbl-bystander'") ==
             bystander_row);
  auto st = body_json(http_get(s.api("/status"), {s.auth("tbl-bystander")}));
  BOOST_TEST(st["data"]["connected"].IsTrue());
  std::string log = s.server_log().substr(server_from);
  BOOST_TEST(log.find("\"status\":5") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
