#include "sim.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <set>
#include <thread>
#include <utility>

#include "crypto/crypto.hpp"
#include "faults.hpp"
#include "util/json.hpp"

namespace amosim {

namespace json = amo::json;
namespace crypto = amo::crypto;
using amo::http::url_decode;
using amo::http::url_encode;

namespace {

constexpr const char* kOAuthProblemType = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";
constexpr const char* kOAuthTitle = "Некорректный запрос";
constexpr const char* kOAuthDetail = "В запросе отсутствует ряд параметров или параметры невалидны";
constexpr int64_t kCodeLifetimeS = 20 * 60;
constexpr int64_t kRefreshLifetimeS = 90 * 86400;

// Key/value writers with unambiguous overloads (a literal never turns into a bool).
void put(json::Writer& w, const char* k, std::string_view v) {
  w.Key(k);
  json::str(w, v);
}
void put(json::Writer& w, const char* k, const std::string& v) {
  w.Key(k);
  json::str(w, v);
}
[[maybe_unused]] void put(json::Writer& w, const char* k, const char* v) {
  w.Key(k);
  json::str(w, v);
}
void put(json::Writer& w, const char* k, int64_t v) {
  w.Key(k);
  w.Int64(v);
}
[[maybe_unused]] void put(json::Writer& w, const char* k, int v) {
  w.Key(k);
  w.Int64(v);
}
void put(json::Writer& w, const char* k, bool v) {
  w.Key(k);
  w.Bool(v);
}

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* status_title(int status) { return amo::http::reason_phrase(status); }

// application/problem+json, amoCRM style.
Response problem(int status, const std::string& detail, const std::optional<std::string>& hint = {},
                 const std::string& type = {}, const std::string& title = {}) {
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    if (hint) put(w, "hint", *hint);
    put(w, "title", title.empty() ? std::string(status_title(status)) : title);
    put(w, "type", type.empty() ? "https://httpstatus.es/" + std::to_string(status) : type);
    put(w, "status", static_cast<int64_t>(status));
    put(w, "detail", detail);
    w.EndObject();
  });
  Response r = Response::text(status, std::move(body), "application/problem+json");
  if (status == 429) r.set_header("Retry-After", "1");
  return r;
}

Response oauth_problem(int status, const std::string& hint) {
  return problem(status, kOAuthDetail, hint, kOAuthProblemType, kOAuthTitle);
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  errno = 0;
  out = std::strtoll(s.c_str(), nullptr, 10);
  return errno == 0;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// "filter[statuses][0][status_id]" → base "filter", segments {"statuses","0","status_id"}.
bool split_brackets(const std::string& key, std::string& base, std::vector<std::string>& segs) {
  auto open = key.find('[');
  if (open == std::string::npos) {
    base = key;
    return true;
  }
  base = key.substr(0, open);
  size_t i = open;
  while (i < key.size()) {
    if (key[i] != '[') return false;
    auto close = key.find(']', i);
    if (close == std::string::npos) return false;
    segs.push_back(key.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  return true;
}

std::string append_query(const std::string& uri, const std::string& query) {
  return uri + (uri.find('?') == std::string::npos ? '?' : '&') + query;
}

Response hal(int status, std::string body) {
  return Response::text(status, std::move(body), "application/hal+json");
}

size_t discard_body(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace

Sim::~Sim() {
  // Deliveries in flight finish (each is bounded by its own timeouts) before the Sim goes.
  std::lock_guard<std::mutex> lk(deliveries_mu_);
  for (auto& t : deliveries_) t.join();
}

Sim::Sim(Config cfg) : cfg_(std::move(cfg)) {
  data_ = make_demo_data(now_unix());
  jwt_key_ = crypto::random_bytes(32);
  knobs_.token_lifetime_s = cfg_.token_lifetime_s;
  knobs_.rate_limit = cfg_.rate_limit;

  route("GET", "/oauth", &Sim::consent_page);
  route("GET", "/oauth/decide", &Sim::consent_decide);
  route("POST", "/oauth2/access_token", &Sim::access_token);
  route("POST", "/oauth2/exchange_api_key", &Sim::exchange_api_key);
  route("GET", "/api/v4/account", &Sim::api_account);
  route("GET", "/api/v4/leads", &Sim::api_leads);
  route("GET", "/api/v4/leads/pipelines", &Sim::api_pipelines);
  route("GET", "/_sim/counters", &Sim::sim_counters);
  route("POST", "/_sim/reset", &Sim::sim_reset);
  route("GET", "/_sim/knobs", &Sim::sim_knobs);
  route("POST", "/_sim/knobs", &Sim::sim_knobs);
  route("POST", "/_sim/issue-code", &Sim::sim_issue_code);
  route("POST", "/_sim/expire-access", &Sim::sim_expire_access);
  route("POST", "/_sim/revoke-refresh", &Sim::sim_revoke_refresh);
  route("POST", "/_sim/seed-refresh", &Sim::sim_seed_refresh);
  route("POST", "/_sim/uninstall", &Sim::sim_uninstall);
}

void Sim::route(const std::string& method, const std::string& path, Fn fn) {
  router_.exact(method, path, path, [this, fn](const Request& req) { return (this->*fn)(req); });
}

Response Sim::handle(Request& req, bool too_large) noexcept {
  auto started = std::chrono::steady_clock::now();
  Response r;
  try {
    if (too_large) {
      r = problem(413, "Request body is too large");
    } else {
      r = dispatch(req);
    }
  } catch (const std::exception& e) {
    std::cerr << "amo-sim: internal error on " << req.method << ' ' << req.path << ": " << e.what()
              << '\n';
    r = problem(500, "amo-sim internal error");
  } catch (...) {
    r = problem(500, "amo-sim internal error");
  }
  if (cfg_.verbose) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    // Path only: queries and bodies may carry codes or tokens.
    std::cerr << "amo-sim: " << req.method << ' ' << req.path << " -> " << r.status << " (" << ms
              << " ms)\n";
  }
  return r;
}

Response Sim::dispatch(const Request& req) {
  bool control = req.path.rfind("/_sim/", 0) == 0;
  if (!control) {
    int64_t latency;
    {
      std::lock_guard<std::mutex> lk(mu_);
      latency = knobs_.latency_ms;
    }
    if (latency > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency));
  }
  auto m = router_.match(req.method, req.path);
  if (!m.handler) {
    if (!m.allow.empty()) {
      Response r = problem(405, "Method not allowed");
      r.set_header("Allow", m.allow);
      return r;
    }
    return problem(404, "Not found");
  }
  return (*m.handler)(req);
}

std::string Sim::href(const std::string& path_and_query) const {
  return "https://" + cfg_.account_host + path_and_query;
}

namespace {
bool fail_matches(const std::string& ep, const std::string& kind) {
  if (ep == kind || ep == "any") return true;
  if (ep == "token") return kind.rfind("token_", 0) == 0;
  if (ep == "api") return kind == "account" || kind == "leads" || kind == "pipelines";
  return false;
}
}  // namespace

std::optional<FailNext> Sim::take_fail_locked(const std::string& kind) {
  if (!knobs_.fail_next || knobs_.fail_next->count <= 0) return std::nullopt;
  if (!fail_matches(knobs_.fail_next->endpoint, kind)) return std::nullopt;
  FailNext f = *knobs_.fail_next;
  if (--knobs_.fail_next->count <= 0) knobs_.fail_next.reset();
  ++counters_.injected_failures;
  return f;
}

void Sim::delay(const FailNext& f, std::unique_lock<std::mutex>& lk) {
  if (f.latency_ms <= 0) return;
  lk.unlock();
  std::this_thread::sleep_for(std::chrono::milliseconds(f.latency_ms));
  lk.lock();
}

Response Sim::injected(const FailNext& f, const std::string& kind, const Request& req,
                       const Response& real) const {
  const int success = kind == "exchange" ? 202 : 200;
  const int status = f.status ? f.status : f.body == "redirect" ? 302 : success;
  const std::string ct = kind == "account" || kind == "leads" || kind == "pipelines"
                             ? "application/hal+json"
                             : "application/json";
  Response r;
  if (f.body == "json") {
    r = problem(status, "Injected failure (amo-sim fail_next)");
  } else if (f.body == "html") {
    r = Response::html(status, "<html>" + std::to_string(status) + "</html>");
  } else if (f.body == "deep") {
    r = Response::text(status, faults::deep_body(), ct);
  } else if (f.body == "huge") {
    r = Response::text(status, faults::huge_body(), ct);
  } else if (f.body == "redirect") {
    r = Response::text(status, "", "text/html");
    r.set_header("Location", "https://www.amocrm.ru/?redirected_from=" + url_encode(req.path));
  } else {
    std::string body = faults::shape(f.body, real.body, kind, f.field);
    if (f.body == "close") {
      // Announce the whole answer, send half of it, finish the request: nginx then closes
      // the client connection short of Content-Length (a truncated transfer).
      r = Response::text(status, body.substr(0, body.size() / 2), ct);
      r.set_header("Content-Length", std::to_string(body.size()));
    } else {
      r = Response::text(status, std::move(body), ct);
    }
  }
  if (status == 429) r.set_header("Retry-After", "1");
  return r;
}

Response Sim::finish(const std::optional<FailNext>& shaped, const char* kind, const Request& req,
                     Response real) const {
  if (!shaped) return real;
  return injected(*shaped, kind, req, real);
}

std::string Sim::unissued_token_answer() const {
  int64_t now = now_unix();
  std::string payload = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "aud", cfg_.client_id);
    put(w, "jti", crypto::hex(crypto::random_bytes(20)));
    put(w, "iat", now);
    put(w, "exp", now + 86400);
    put(w, "account_id", cfg_.account_id);
    w.EndObject();
  });
  return json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "token_type", std::string_view("Bearer"));
    put(w, "expires_in", int64_t{86400});
    put(w, "access_token", sign_jwt(payload));
    put(w, "refresh_token", "def50200" + crypto::hex(crypto::random_bytes(240)));
    put(w, "server_time", now);
    w.EndObject();
  });
}

std::string Sim::new_code_locked(int64_t now) {
  // Real codes are long opaque strings starting with "def502".
  std::string code = "def50200" + crypto::hex(crypto::random_bytes(120));
  codes_[code] = Code{cfg_.account_id, now + kCodeLifetimeS};
  return code;
}

std::string Sim::sign_jwt(const std::string& payload) const {
  std::string head = crypto::base64url_encode(R"({"typ":"JWT","alg":"HS256"})") + "." +
                     crypto::base64url_encode(payload);
  return head + "." + crypto::base64url_encode(crypto::hmac_sha256(jwt_key_, head));
}

// ---------------------------------------------------------------- consent page

Response Sim::consent_page(const Request& req) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++counters_.consent_pages;
  }
  std::string client_id = req.param("client_id").value_or("");
  std::string state = req.param("state").value_or("");
  std::string mode = req.param("mode").value_or("");
  const char* style =
      "body{margin:0;background:#eef2f5;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',"
      "Roboto,Arial,sans-serif;color:#2e3640}"
      ".top{background:#1f2c3f;color:#fff;padding:14px 20px;font-weight:600}"
      ".card{max-width:420px;margin:40px auto;background:#fff;border-radius:6px;padding:28px;"
      "box-shadow:0 2px 10px rgba(0,0,0,.1)}"
      "h1{font-size:20px;margin:0 0 16px}.muted{color:#8591a5;font-size:14px}"
      ".btns{display:flex;gap:12px;margin-top:24px}"
      ".btn{flex:1;text-align:center;padding:12px;border-radius:4px;text-decoration:none;"
      "font-weight:600}.allow{background:#4c8bf7;color:#fff}.deny{background:#e8ebef;color:#"
      "2e3640}";
  if (client_id != cfg_.client_id) {
    std::string page = std::string(
                           "<!doctype html><html><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width\">"
                           "<title>amoCRM</title><style>") +
                       style +
                       "</style></head><body><div class=\"top\">amoCRM</div><div class=\"card\">"
                       "<h1>Integration not found</h1><p class=\"muted\">Unknown client_id.</p>"
                       "</div></body></html>";
    Response r = Response::html(400, std::move(page));
    r.set_header("Cache-Control", "no-store");
    return r;
  }
  std::string q = "state=" + url_encode(state) + "&client_id=" + url_encode(client_id);
  std::string allow = "/oauth/decide?decision=allow&" + q;
  std::string deny = "/oauth/decide?decision=deny&" + q;
  std::string page = std::string(
                         "<!doctype html><html><head><meta charset=\"utf-8\">"
                         "<meta name=\"viewport\" content=\"width=device-width\">"
                         "<title>amoCRM — access request</title><style>") +
                     style + "</style></head><body><div class=\"top\">amoCRM</div>" +
                     "<div class=\"card\"><h1>The integration requests access to your account</h1>"
                     "<p><b id=\"account-name\">" +
                     html_escape(cfg_.account_name) +
                     "</b><br><span class=\"muted\" id=\"account-host\">" +
                     html_escape(cfg_.account_host) +
                     "</span></p><p class=\"muted\">Access to: leads, contacts, companies, "
                     "pipelines, account data.</p><p class=\"muted\">Integration " +
                     html_escape(client_id) + (mode.empty() ? "" : " · mode " + html_escape(mode)) +
                     "</p><div class=\"btns\"><a class=\"btn deny\" id=\"deny\" href=\"" +
                     html_escape(deny) + "\">Deny</a><a class=\"btn allow\" id=\"allow\" href=\"" +
                     html_escape(allow) + "\">Allow</a></div></div></body></html>";
  Response r = Response::html(200, std::move(page));
  r.set_header("Cache-Control", "no-store");
  return r;
}

Response Sim::consent_decide(const Request& req) {
  std::string client_id = req.param("client_id").value_or("");
  std::optional<std::string> state = req.param("state");
  std::string decision = req.param("decision").value_or("");
  if (client_id != cfg_.client_id || (decision != "allow" && decision != "deny")) {
    Response r = Response::html(400,
                                "<!doctype html><html><head><meta charset=\"utf-8\"><title>amoCRM"
                                "</title></head><body><h1>Bad request</h1></body></html>");
    r.set_header("Cache-Control", "no-store");
    return r;
  }
  std::string q;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++counters_.consent_decisions;
    if (decision == "allow") q = "code=" + url_encode(new_code_locked(now_unix()));
  }
  if (decision == "deny") q = "error=access_denied";
  if (state) q += "&state=" + url_encode(*state);
  if (decision == "allow") q += "&referer=" + url_encode(cfg_.account_host);
  q += "&client_id=" + url_encode(client_id);
  Response r = Response::html(302, "");
  r.set_header("Location", append_query(cfg_.redirect_uri, q));
  r.set_header("Cache-Control", "no-store");
  return r;
}

// ---------------------------------------------------------------- token endpoint

Response Sim::access_token(const Request& req) {
  // Body: JSON object, else application/x-www-form-urlencoded.
  std::map<std::string, std::string> f;
  std::string ct = req.header("content-type").value_or("");
  bool is_form = ct.find("application/x-www-form-urlencoded") != std::string::npos;
  bool parsed = false;
  if (!is_form) {
    rapidjson::Document d;
    if ((json::parse(req.body, d, json::kRequestLimits) == json::ParseFail::kNone) &&
        d.IsObject()) {
      parsed = true;
      for (auto& mem : d.GetObject()) {
        std::string k(mem.name.GetString(), mem.name.GetStringLength());
        if (mem.value.IsString())
          f[k] = std::string(mem.value.GetString(), mem.value.GetStringLength());
        else if (mem.value.IsInt64())
          f[k] = std::to_string(mem.value.GetInt64());
      }
    }
  }
  if (!parsed) {
    for (auto& [k, v] : amo::http::parse_query(req.body)) f.emplace(k, v);
  }
  auto field = [&](const char* name) -> std::string {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second;
  };
  std::string grant = field("grant_type");
  int64_t now = now_unix();

  std::unique_lock<std::mutex> lk(mu_);
  if (grant == "authorization_code") ++counters_.token_authorization_code;
  if (grant == "refresh_token") ++counters_.token_refresh_token;
  auto fail = [&](Response r) {
    if (r.status != 200) ++counters_.token_errors;
    return r;
  };
  const char* kind = grant == "authorization_code" ? "token_code"
                     : grant == "refresh_token"    ? "token_refresh"
                                                   : "token_other";
  if (auto inj = take_fail_locked(kind)) {
    delay(*inj, lk);
    if (inj->answers()) {
      Response real =
          Response::json(200, inj->body == "json" ? std::string() : unissued_token_answer());
      return fail(injected(*inj, kind, req, real));
    }
    now = now_unix();
  }

  if (field("client_id").empty() || field("client_secret").empty() || grant.empty())
    return fail(
        oauth_problem(400, "Check the `client_id`, `client_secret` and `grant_type` parameters"));
  if (field("client_id") != cfg_.client_id || field("client_secret") != cfg_.client_secret)
    return fail(oauth_problem(401, "Client authentication failed"));
  if (grant != "authorization_code" && grant != "refresh_token")
    return fail(oauth_problem(
        400, "The authorization grant type is not supported by the authorization server."));
  if (field("redirect_uri") != cfg_.redirect_uri)
    return fail(oauth_problem(400, "Redirect URI mismatch"));

  int64_t account_id = cfg_.account_id;
  if (grant == "authorization_code") {
    std::string code = field("code");
    if (code.empty()) return fail(oauth_problem(400, "Check the `code` parameter"));
    auto it = codes_.find(code);
    if (it == codes_.end() || it->second.exp <= now) {
      if (it != codes_.end()) codes_.erase(it);
      return fail(oauth_problem(400, "Authorization code has been revoked"));
    }
    account_id = it->second.account_id;
    codes_.erase(it);  // single use
  } else {
    std::string rt = field("refresh_token");
    if (rt.empty()) return fail(oauth_problem(400, "Check the `refresh_token` parameter"));
    auto it = refresh_.find(rt);
    if (it == refresh_.end()) return fail(oauth_problem(400, "Cannot decrypt the refresh token"));
    if (it->second.used) return fail(oauth_problem(401, "Token has been revoked"));
    if (it->second.exp <= now) return fail(oauth_problem(401, "Token has expired"));
    it->second.used = true;  // single use: the old pair dies now
    auto at = access_.find(it->second.access_token);
    if (at != access_.end()) at->second.dead = true;
    account_id = it->second.account_id;
  }

  int64_t lifetime = knobs_.token_lifetime_s;
  std::string payload = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "aud", cfg_.client_id);
    put(w, "jti", crypto::hex(crypto::random_bytes(20)));
    put(w, "iat", now);
    put(w, "nbf", now);
    put(w, "exp", now + lifetime);
    put(w, "sub", std::to_string(data_.user_ids[0]));
    put(w, "grant_type", std::string_view(""));
    put(w, "account_id", account_id);
    put(w, "base_domain", std::string_view("amocrm.ru"));
    put(w, "version", int64_t{2});
    w.Key("scopes");
    w.StartArray();
    for (const char* s : {"crm", "files", "files_delete", "notifications", "push_notifications"})
      w.String(s);
    w.EndArray();
    put(w, "api_domain", std::string_view("api-b.amocrm.ru"));
    w.EndObject();
  });
  std::string access = sign_jwt(payload);
  std::string refresh = "def50200" + crypto::hex(crypto::random_bytes(240));
  access_[access] = AccessToken{account_id, now + lifetime, false};
  refresh_[refresh] = RefreshToken{account_id, now + kRefreshLifetimeS, access, false};

  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "token_type", std::string_view("Bearer"));
    put(w, "expires_in", lifetime);
    put(w, "access_token", access);
    put(w, "refresh_token", refresh);
    put(w, "server_time", now);
    w.EndObject();
  });
  ++counters_.tokens_issued;
  Response r = Response::json(200, std::move(body));
  r.set_header("Cache-Control", "no-store");
  return r;
}

// ---------------------------------------------------------------- API-key exchange

Response Sim::exchange_api_key(const Request& req) {
  std::string url;
  uint64_t gen;
  {
    std::unique_lock<std::mutex> lk(mu_);
    ++counters_.exchange_api_key;
    if (auto inj = take_fail_locked("exchange")) {
      delay(*inj, lk);
      if (inj->answers())
        return injected(*inj, "exchange", req, Response::json(202, R"({"status":"accepted"})"));
    }
  }
  rapidjson::Document d;
  if (!(json::parse(req.body, d, json::kRequestLimits) == json::ParseFail::kNone) || !d.IsObject())
    return problem(400, "Request body must be a JSON object");
  auto get = [&](const char* name) -> std::string {
    auto it = d.FindMember(name);
    if (it == d.MemberEnd() || !it->value.IsString()) return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  std::string missing;
  for (const char* name : {"login", "api_key", "client_uuid", "client_secret", "state"}) {
    if (get(name).empty()) missing += missing.empty() ? name : std::string(", ") + name;
  }
  if (!missing.empty()) return problem(400, "Missing or empty fields: " + missing);
  if (get("client_uuid") != cfg_.client_id || get("client_secret") != cfg_.client_secret)
    return problem(401, "Client authentication failed");
  if (get("api_key") == "forbidden") return problem(403, "Access to the account is forbidden");
  if (get("api_key") == "ratelimited") return problem(429, "Too many requests");

  {
    std::lock_guard<std::mutex> lk(mu_);
    gen = generation_;
    url = append_query(cfg_.redirect_uri,
                       "code=" + url_encode(new_code_locked(now_unix())) + "&state=" +
                           url_encode(get("state")) + "&referer=" + url_encode(cfg_.account_host) +
                           "&client_id=" + url_encode(cfg_.client_id) + "&from_exchange=1");
  }
  {
    std::lock_guard<std::mutex> lk(deliveries_mu_);
    deliveries_.emplace_back(
        [this, u = std::move(url), gen]() mutable { deliver(std::move(u), gen); });
  }
  return Response::json(202, R"({"status":"accepted"})");
}

void Sim::deliver(std::string url, uint64_t generation) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  long status = -1;
  if (CURL* c = curl_easy_init()) {
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "amoCRM-oAuth-client/1.0 (amo-sim)");
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    } else {
      std::cerr << "amo-sim: exchange delivery failed: " << curl_easy_strerror(rc) << '\n';
    }
    curl_easy_cleanup(c);
  }
  if (cfg_.verbose) std::cerr << "amo-sim: exchange delivery answered " << status << '\n';
  std::lock_guard<std::mutex> lk(mu_);
  if (generation != generation_) return;  // a reset happened meanwhile
  counters_.last_delivery_status = status;
  ++counters_.deliveries;
}

// ---------------------------------------------------------------- API v4

std::optional<Response> Sim::api_gate(const Request& req, int64_t Counters::*counter,
                                      const char* kind, std::optional<FailNext>& shaped) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lk(mu_);
  ++(counters_.*counter);
  ++counters_.api_total;
  // Sliding 1 s window of arrivals (a single account lives here).
  while (!window_.empty() && window_.front() <= now - std::chrono::seconds(1)) window_.pop_front();
  window_.push_back(now);
  counters_.max_rps_seen =
      std::max<int64_t>(counters_.max_rps_seen, static_cast<int64_t>(window_.size()));
  if (knobs_.rate_limit > 0 && static_cast<int64_t>(window_.size()) > knobs_.rate_limit) {
    ++counters_.rate_limited;
    return problem(429, "Too many requests: the limit is " + std::to_string(knobs_.rate_limit) +
                            " requests per second");
  }
  if (auto inj = take_fail_locked(kind)) {
    delay(*inj, lk);
    if (faults::needs_real_answer(inj->body)) {
      shaped = inj;  // the handler builds its answer, reshaped by finish()
      return std::nullopt;
    }
    if (inj->answers()) return injected(*inj, kind, req, Response{});
  }

  auto unauthorized = [](const char* detail) {
    Response r = problem(401, detail);
    r.set_header("WWW-Authenticate", "Bearer");
    return r;
  };
  std::string auth = req.header("authorization").value_or("");
  if (auth.size() < 8 || strncasecmp(auth.c_str(), "Bearer ", 7) != 0)
    return unauthorized("Authorization header with a Bearer token is required");
  auto it = access_.find(auth.substr(7));
  if (it == access_.end()) return unauthorized("Unknown access token");
  if (it->second.dead || it->second.exp <= now_unix())
    return unauthorized("Access token has expired or been revoked");
  return std::nullopt;
}

Response Sim::api_account(const Request& req) {
  std::optional<FailNext> shaped;
  if (auto stop = api_gate(req, &Counters::account, "account", shaped)) return std::move(*stop);
  return finish(shaped, "account", req, account_answer());
}

Response Sim::account_answer() const {
  std::string sub = cfg_.account_host.substr(0, cfg_.account_host.find('.'));
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "id", cfg_.account_id);
    put(w, "name", cfg_.account_name);
    put(w, "subdomain", sub);
    put(w, "created_at", data_.account_created_at);
    put(w, "created_by", int64_t{0});
    put(w, "updated_at", data_.account_created_at + 86400 * 30);
    put(w, "updated_by", data_.user_ids[0]);
    put(w, "current_user_id", data_.user_ids[0]);
    put(w, "country", std::string_view("UA"));
    put(w, "currency", std::string_view("UAH"));
    put(w, "currency_symbol", std::string_view("₴"));
    put(w, "customers_mode", std::string_view("disabled"));
    put(w, "is_unsorted_on", true);
    put(w, "mobile_feature_version", int64_t{0});
    put(w, "is_loss_reason_enabled", true);
    put(w, "is_helpbot_enabled", false);
    put(w, "is_technical_account", false);
    put(w, "contact_name_display_order", int64_t{1});
    w.Key("_links");
    w.StartObject();
    w.Key("self");
    w.StartObject();
    put(w, "href", href("/api/v4/account"));
    w.EndObject();
    w.EndObject();
    w.EndObject();
  });
  return hal(200, std::move(body));
}

Response Sim::api_leads(const Request& req) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    counters_.last_leads_query = req.query;
  }
  std::optional<FailNext> shaped;
  if (auto stop = api_gate(req, &Counters::leads, "leads", shaped)) return std::move(*stop);
  return finish(shaped, "leads", req, leads_answer(req));
}

Response Sim::leads_answer(const Request& req) {
  bool empty;
  {
    std::lock_guard<std::mutex> lk(mu_);
    empty = knobs_.empty_leads;
  }

  int64_t page = 1, limit = 50;
  std::string query;
  std::set<int64_t> pipelines, users, ids;
  std::map<std::string, std::pair<std::optional<int64_t>, std::optional<int64_t>>> statuses;
  std::map<std::string, std::pair<std::optional<int64_t>, std::optional<int64_t>>> ranges;
  std::string order_field = "id";
  bool order_desc = false;

  auto bad = [](const std::string& path, const std::string& detail) {
    std::string body = json::write([&](json::Writer& w) {
      w.StartObject();
      w.Key("validation-errors");
      w.StartArray();
      w.StartObject();
      put(w, "request_id", std::string_view("0"));
      w.Key("errors");
      w.StartArray();
      w.StartObject();
      put(w, "code", std::string_view("InvalidType"));
      put(w, "path", path);
      put(w, "detail", detail);
      w.EndObject();
      w.EndArray();
      w.EndObject();
      w.EndArray();
      put(w, "title", std::string_view("Bad Request"));
      put(w, "type", std::string_view("https://httpstatus.es/400"));
      put(w, "status", int64_t{400});
      put(w, "detail", std::string_view("Request validation failed"));
      w.EndObject();
    });
    return Response::text(400, std::move(body), "application/problem+json");
  };

  for (auto& [key, value] : amo::http::parse_query(req.query)) {
    std::string base;
    std::vector<std::string> segs;
    if (!split_brackets(key, base, segs)) continue;
    int64_t n = 0;
    if (base == "page" && segs.empty()) {
      if (!parse_int(value, page) || page < 1)
        return bad("page", "page must be a positive integer");
    } else if (base == "limit" && segs.empty()) {
      if (!parse_int(value, limit) || limit < 1 || limit > 250)
        return bad("limit", "limit must be an integer between 1 and 250");
    } else if (base == "query" && segs.empty()) {
      query = value;
    } else if (base == "order" && segs.size() == 1) {
      if (segs[0] != "created_at" && segs[0] != "updated_at" && segs[0] != "id")
        return bad(key, "unsupported order field");
      if (value != "asc" && value != "desc") return bad(key, "order must be asc or desc");
      order_field = segs[0];
      order_desc = value == "desc";
    } else if (base == "filter" && !segs.empty()) {
      const std::string& what = segs[0];
      if (what == "pipeline_id" || what == "responsible_user_id" || what == "id") {
        // filter[x]=N, filter[x][]=N, filter[x][0]=N; N may also be "1,2,3".
        if (segs.size() > 2) return bad(key, "unsupported filter form");
        std::string_view rest = value;
        while (true) {
          auto comma = rest.find(',');
          std::string item(rest.substr(0, comma));
          if (!parse_int(item, n)) return bad(key, "must be an integer");
          (what == "pipeline_id" ? pipelines : what == "id" ? ids : users).insert(n);
          if (comma == std::string_view::npos) break;
          rest = rest.substr(comma + 1);
        }
      } else if (what == "statuses") {
        if (segs.size() != 3 || (segs[2] != "pipeline_id" && segs[2] != "status_id"))
          return bad(key,
                     "use filter[statuses][i][pipeline_id] and filter[statuses][i][status_id]");
        if (!parse_int(value, n)) return bad(key, "must be an integer");
        auto& entry = statuses[segs[1]];
        (segs[2] == "pipeline_id" ? entry.first : entry.second) = n;
      } else if (what == "created_at" || what == "updated_at" || what == "closed_at") {
        if (segs.size() != 2 || (segs[1] != "from" && segs[1] != "to"))
          return bad(key, "use [from] and [to]");
        if (!parse_int(value, n)) return bad(key, "must be a unix timestamp");
        auto& entry = ranges[what];
        (segs[1] == "from" ? entry.first : entry.second) = n;
      }
      // Other filters are ignored, as amoCRM ignores unknown ones.
    }
  }
  for (auto& [idx, st] : statuses) {
    if (!st.first || !st.second)
      return bad("filter[statuses][" + idx + "]", "both pipeline_id and status_id are required");
  }

  std::string needle = utf8_lower(query);
  std::vector<const Lead*> hits;
  for (const Lead& l : data_.leads) {
    if (!needle.empty() && l.name_lower.find(needle) == std::string::npos) continue;
    if (!pipelines.empty() && !pipelines.count(l.pipeline_id)) continue;
    if (!users.empty() && !users.count(l.responsible_user_id)) continue;
    if (!ids.empty() && !ids.count(l.id)) continue;
    if (!statuses.empty()) {
      bool any = false;
      for (auto& [idx, st] : statuses)
        if (*st.first == l.pipeline_id && *st.second == l.status_id) any = true;
      if (!any) continue;
    }
    bool in_range = true;
    for (auto& [field, rg] : ranges) {
      std::optional<int64_t> v = field == "created_at"   ? std::optional<int64_t>(l.created_at)
                                 : field == "updated_at" ? std::optional<int64_t>(l.updated_at)
                                                         : l.closed_at;
      if (!v || (rg.first && *v < *rg.first) || (rg.second && *v > *rg.second)) in_range = false;
    }
    if (!in_range) continue;
    hits.push_back(&l);
  }
  auto key_of = [&](const Lead* l) {
    return order_field == "created_at"   ? l->created_at
           : order_field == "updated_at" ? l->updated_at
                                         : l->id;
  };
  std::stable_sort(hits.begin(), hits.end(), [&](const Lead* a, const Lead* b) {
    int64_t ka = key_of(a), kb = key_of(b);
    if (ka != kb) return order_desc ? ka > kb : ka < kb;
    return order_desc ? a->id > b->id : a->id < b->id;
  });

  auto first = static_cast<size_t>((page - 1) * limit);
  if (empty || first >= hits.size()) {
    Response none;
    none.status = 204;  // amoCRM: an empty list is 204 with no body
    return none;
  }
  size_t last = std::min(hits.size(), first + static_cast<size_t>(limit));
  bool more = last < hits.size();

  // Links keep the caller's query, with page replaced.
  auto page_href = [&](int64_t p) {
    std::string q;
    std::string_view rest = req.query;
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (part.empty() || url_decode(part.substr(0, part.find('='))) == "page") continue;
      q += part;
      q += '&';
    }
    q += "page=" + std::to_string(p);
    return href("/api/v4/leads?" + q);
  };
  auto link = [&](json::Writer& w, const char* name, const std::string& url) {
    w.Key(name);
    w.StartObject();
    put(w, "href", url);
    w.EndObject();
  };

  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "_page", page);
    w.Key("_links");
    w.StartObject();
    link(w, "self", page_href(page));
    if (more) link(w, "next", page_href(page + 1));
    if (page > 1) {
      link(w, "first", page_href(1));
      link(w, "prev", page_href(page - 1));
    }
    w.EndObject();
    w.Key("_embedded");
    w.StartObject();
    w.Key("leads");
    w.StartArray();
    for (size_t i = first; i < last; ++i) {
      const Lead& l = *hits[i];
      w.StartObject();
      put(w, "id", l.id);
      put(w, "name", l.name);
      put(w, "price", l.price);
      put(w, "responsible_user_id", l.responsible_user_id);
      put(w, "group_id", l.group_id);
      put(w, "status_id", l.status_id);
      put(w, "pipeline_id", l.pipeline_id);
      w.Key("loss_reason_id");
      if (l.loss_reason_id)
        w.Int64(*l.loss_reason_id);
      else
        w.Null();
      put(w, "created_by", l.created_by);
      put(w, "updated_by", l.updated_by);
      put(w, "created_at", l.created_at);
      put(w, "updated_at", l.updated_at);
      w.Key("closed_at");
      if (l.closed_at)
        w.Int64(*l.closed_at);
      else
        w.Null();
      w.Key("closest_task_at");
      w.Null();
      put(w, "is_deleted", false);
      w.Key("custom_fields_values");
      w.Null();
      w.Key("score");
      w.Null();
      put(w, "account_id", cfg_.account_id);
      put(w, "labor_cost", int64_t{0});
      w.Key("_links");
      w.StartObject();
      link(w, "self", href("/api/v4/leads/" + std::to_string(l.id) + "?page=1&limit=50"));
      w.EndObject();
      w.Key("_embedded");
      w.StartObject();
      w.Key("tags");
      w.StartArray();
      w.EndArray();
      w.Key("companies");
      w.StartArray();
      w.EndArray();
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.EndObject();
  });
  return hal(200, std::move(body));
}

Response Sim::api_pipelines(const Request& req) {
  std::optional<FailNext> shaped;
  if (auto stop = api_gate(req, &Counters::pipelines, "pipelines", shaped)) return std::move(*stop);
  return finish(shaped, "pipelines", req, pipelines_answer());
}

Response Sim::pipelines_answer() const {
  std::string body = json::write([&](json::Writer& w) {
    auto self = [&](const std::string& url) {
      w.Key("_links");
      w.StartObject();
      w.Key("self");
      w.StartObject();
      put(w, "href", url);
      w.EndObject();
      w.EndObject();
    };
    w.StartObject();
    put(w, "_total_items", static_cast<int64_t>(data_.pipelines.size()));
    self(href("/api/v4/leads/pipelines"));
    w.Key("_embedded");
    w.StartObject();
    w.Key("pipelines");
    w.StartArray();
    for (const Pipeline& p : data_.pipelines) {
      std::string purl = "/api/v4/leads/pipelines/" + std::to_string(p.id);
      w.StartObject();
      put(w, "id", p.id);
      put(w, "name", p.name);
      put(w, "sort", static_cast<int64_t>(p.sort));
      put(w, "is_main", p.is_main);
      put(w, "is_unsorted_on", p.is_unsorted_on);
      put(w, "is_archive", p.is_archive);
      put(w, "account_id", cfg_.account_id);
      self(href(purl));
      w.Key("_embedded");
      w.StartObject();
      w.Key("statuses");
      w.StartArray();
      for (const Status& s : p.statuses) {
        w.StartObject();
        put(w, "id", s.id);
        put(w, "name", s.name);
        put(w, "sort", static_cast<int64_t>(s.sort));
        put(w, "is_editable", s.is_editable);
        put(w, "pipeline_id", p.id);
        put(w, "color", s.color);
        put(w, "type", static_cast<int64_t>(s.type));
        put(w, "account_id", cfg_.account_id);
        self(href(purl + "/statuses/" + std::to_string(s.id)));
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.EndObject();
  });
  return hal(200, std::move(body));
}

// ---------------------------------------------------------------- /_sim control API

Response Sim::sim_counters(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  const Counters& c = counters_;
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "token_authorization_code", c.token_authorization_code);
    put(w, "token_refresh_token", c.token_refresh_token);
    put(w, "token_errors", c.token_errors);
    put(w, "tokens_issued", c.tokens_issued);
    put(w, "account", c.account);
    put(w, "leads", c.leads);
    put(w, "pipelines", c.pipelines);
    put(w, "exchange_api_key", c.exchange_api_key);
    put(w, "api_total", c.api_total);
    put(w, "rate_limited", c.rate_limited);
    put(w, "max_rps_seen", c.max_rps_seen);
    put(w, "last_delivery_status", c.last_delivery_status);
    put(w, "deliveries", c.deliveries);
    put(w, "injected_failures", c.injected_failures);
    put(w, "consent_pages", c.consent_pages);
    put(w, "consent_decisions", c.consent_decisions);
    put(w, "last_leads_query", c.last_leads_query);
    w.EndObject();
  });
  return Response::json(200, std::move(body));
}

Response Sim::sim_reset(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  counters_ = Counters{};
  knobs_ = Knobs{};
  knobs_.token_lifetime_s = cfg_.token_lifetime_s;
  knobs_.rate_limit = cfg_.rate_limit;
  codes_.clear();
  access_.clear();
  refresh_.clear();
  window_.clear();
  ++generation_;
  return Response::json(200, R"({"reset":true})");
}

std::string Sim::knobs_json_locked() const {
  return json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "latency_ms", knobs_.latency_ms);
    w.Key("fail_next");
    if (knobs_.fail_next) {
      w.StartObject();
      const FailNext& f = *knobs_.fail_next;
      put(w, "endpoint", f.endpoint);
      w.Key("status");
      if (f.status)
        w.Int64(f.status);
      else
        w.Null();
      put(w, "count", f.count);
      w.Key("body");
      if (f.answers())
        json::str(w, f.body);
      else
        w.Null();
      w.Key("field");
      if (f.field.empty())
        w.Null();
      else
        json::str(w, f.field);
      put(w, "latency_ms", f.latency_ms);
      w.EndObject();
    } else {
      w.Null();
    }
    put(w, "token_lifetime_s", knobs_.token_lifetime_s);
    put(w, "empty_leads", knobs_.empty_leads);
    put(w, "rate_limit", knobs_.rate_limit);
    w.EndObject();
  });
}

namespace {

// Reads a fail_next object into f; returns why it is refused (empty when it is fine).
std::string parse_fail_next(const rapidjson::Value& v, FailNext& f) {
  static const std::set<std::string> endpoints = {"token_code", "token_refresh", "account",
                                                  "leads",      "pipelines",     "exchange",
                                                  "token",      "api",           "any"};
  f = FailNext{};
  f.count = 1;
  for (auto& m : v.GetObject()) {
    std::string k(m.name.GetString(), m.name.GetStringLength());
    const rapidjson::Value& x = m.value;
    if (k == "endpoint") {
      if (!x.IsString() || !endpoints.count(x.GetString()))
        return "fail_next.endpoint must be token_code, token_refresh, account, leads, pipelines, "
               "exchange, token, api or any";
      f.endpoint = x.GetString();
    } else if (k == "status") {
      // 2xx answers garbage with a success status, 3xx only with body "redirect".
      if (!x.IsInt() || x.GetInt() < 200 || x.GetInt() > 599)
        return "fail_next.status must be an HTTP status from 200 to 599";
      f.status = x.GetInt();
    } else if (k == "count") {
      if (!x.IsInt64() || x.GetInt64() < 0) return "fail_next.count must be a non-negative integer";
      f.count = x.GetInt64();
    } else if (k == "body") {
      if (!x.IsString() || !faults::known_body(x.GetString()))
        return "fail_next.body must be json, html, truncated, wrong_types, missing_fields, "
               "invalid_utf8, deep, huge, redirect or close";
      f.body = x.GetString();
    } else if (k == "field") {
      if (!x.IsString() || x.GetStringLength() == 0 || x.GetStringLength() > 64)
        return "fail_next.field must be a member name";
      f.field = x.GetString();
    } else if (k == "latency_ms") {
      if (!x.IsInt64() || x.GetInt64() < 0 || x.GetInt64() > 120000)
        return "fail_next.latency_ms must be an integer from 0 to 120000";
      f.latency_ms = x.GetInt64();
    } else {
      return "Unknown fail_next member: " + k;
    }
  }
  if (f.endpoint.empty()) return "fail_next.endpoint is required";
  if (f.body.empty() && f.status) f.body = "json";
  if (f.body.empty() && f.latency_ms == 0) return "fail_next needs a status, a body or latency_ms";
  const bool redirect_status = f.status >= 300 && f.status <= 399;
  if (f.body == "redirect" && f.status && !redirect_status)
    return "fail_next.body redirect takes a 3xx status";
  if (f.body != "redirect" && redirect_status) return "fail_next.status 3xx needs body redirect";
  if (!f.field.empty() && f.body != "wrong_types" && f.body != "missing_fields" &&
      f.body != "invalid_utf8")
    return "fail_next.field goes with wrong_types, missing_fields or invalid_utf8";
  return {};
}

}  // namespace

Response Sim::sim_knobs(const Request& req) {
  if (req.method == "GET" || req.method == "HEAD") {
    std::lock_guard<std::mutex> lk(mu_);
    return Response::json(200, knobs_json_locked());
  }
  rapidjson::Document d;
  if (!(json::parse(req.body, d, json::kRequestLimits) == json::ParseFail::kNone) || !d.IsObject())
    return problem(400, "Body must be a JSON object");
  // Validate everything first, then apply all at once.
  Knobs next;
  {
    std::lock_guard<std::mutex> lk(mu_);
    next = knobs_;
  }
  for (auto& m : d.GetObject()) {
    std::string k(m.name.GetString(), m.name.GetStringLength());
    const rapidjson::Value& v = m.value;
    if (k == "latency_ms" || k == "token_lifetime_s" || k == "rate_limit") {
      if (!v.IsInt64() || v.GetInt64() < 0 || (k == "latency_ms" && v.GetInt64() > 120000))
        return problem(400, k + " must be a non-negative integer");
      (k == "latency_ms"         ? next.latency_ms
       : k == "token_lifetime_s" ? next.token_lifetime_s
                                 : next.rate_limit) = v.GetInt64();
    } else if (k == "empty_leads") {
      if (!v.IsBool()) return problem(400, "empty_leads must be a boolean");
      next.empty_leads = v.GetBool();
    } else if (k == "fail_next") {
      if (v.IsNull()) {
        next.fail_next.reset();
        continue;
      }
      if (!v.IsObject()) return problem(400, "fail_next must be an object or null");
      FailNext f;
      std::string why = parse_fail_next(v, f);
      if (!why.empty()) return problem(400, why);
      if (f.count > 0)
        next.fail_next = f;
      else
        next.fail_next.reset();
    } else {
      return problem(400, "Unknown knob: " + k);
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  knobs_ = next;
  return Response::json(200, knobs_json_locked());
}

Response Sim::sim_issue_code(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  std::string code = new_code_locked(now_unix());
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    put(w, "code", code);
    put(w, "referer", cfg_.account_host);
    put(w, "account_id", cfg_.account_id);
    put(w, "client_id", cfg_.client_id);
    w.EndObject();
  });
  return Response::json(200, std::move(body));
}

Response Sim::sim_expire_access(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  int64_t n = 0;
  for (auto& [tok, a] : access_)
    if (!a.dead) {
      a.dead = true;
      ++n;
    }
  return Response::json(200, json::write([&](json::Writer& w) {
                          w.StartObject();
                          put(w, "expired", n);
                          w.EndObject();
                        }));
}

Response Sim::sim_revoke_refresh(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  int64_t n = 0;
  for (auto& [tok, r] : refresh_)
    if (!r.used) {
      r.used = true;
      ++n;
    }
  return Response::json(200, json::write([&](json::Writer& w) {
                          w.StartObject();
                          put(w, "revoked", n);
                          w.EndObject();
                        }));
}

// Bench set-up (tools/bench.sh): refresh tokens PREFIX1 … PREFIXcount become live grants of
// the account, as if issued, so rows sealed outside the OAuth flow can be refreshed.
Response Sim::sim_seed_refresh(const Request& req) {
  rapidjson::Document d;
  if (!(json::parse(req.body, d, json::kRequestLimits) == json::ParseFail::kNone) || !d.IsObject())
    return problem(400, "Body must be a JSON object");
  auto prefix = d.FindMember("prefix");
  auto count = d.FindMember("count");
  if (prefix == d.MemberEnd() || !prefix->value.IsString() ||
      prefix->value.GetStringLength() == 0 || count == d.MemberEnd() || !count->value.IsInt64() ||
      count->value.GetInt64() < 1 || count->value.GetInt64() > 10000000)
    return problem(400, "Expected {\"prefix\": non-empty text, \"count\": 1 to 10000000}");
  std::string p(prefix->value.GetString(), prefix->value.GetStringLength());
  int64_t n = count->value.GetInt64(), now = now_unix();
  std::lock_guard<std::mutex> lk(mu_);
  for (int64_t i = 1; i <= n; ++i)
    refresh_[p + std::to_string(i)] =
        RefreshToken{cfg_.account_id, now + kRefreshLifetimeS, std::string(), false};
  return Response::json(200, json::write([&](json::Writer& w) {
                          w.StartObject();
                          put(w, "seeded", n);
                          w.EndObject();
                        }));
}

// The integration removed from the account: every token it issued stops working.
Response Sim::sim_uninstall(const Request&) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [tok, a] : access_) a.dead = true;
  for (auto& [tok, r] : refresh_) r.used = true;
  return Response::json(200, R"({"uninstalled":true})");
}

}  // namespace amosim
