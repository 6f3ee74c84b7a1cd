#include "amo/client.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "http/errors.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo::amo_api {

namespace {

constexpr size_t kMaxResponseBytes = 8 * 1024 * 1024;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct HandleDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// One handle per thread keeps TLS sessions and connections to amoCRM alive.
CURL* thread_handle() {
  static CurlGlobal global;
  thread_local std::unique_ptr<CURL, HandleDeleter> h(curl_easy_init());
  curl_easy_reset(h.get());
  return h.get();
}

struct Sink {
  std::string body;
  std::optional<int> retry_after;
};

size_t on_body(char* p, size_t s, size_t n, void* ud) {
  auto* sink = static_cast<Sink*>(ud);
  if (sink->body.size() + s * n > kMaxResponseBytes) return 0;  // aborts the transfer
  sink->body.append(p, s * n);
  return s * n;
}

size_t on_header(char* p, size_t s, size_t n, void* ud) {
  std::string_view line(p, s * n);
  static constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    int v = std::atoi(std::string(line.substr(kName.size())).c_str());
    if (v >= 0) static_cast<Sink*>(ud)->retry_after = v;
  }
  return s * n;
}

// The most useful safe text of an amoCRM error body (problem+json or JSON with hint/title).
std::string problem_text(const std::string& body) {
  rapidjson::Document d;
  if (!json::try_parse(body, d) || !d.IsObject()) return {};
  for (const char* k : {"hint", "title", "detail"}) {
    auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsString())
      return std::string(it->value.GetString()).substr(0, 200);
  }
  return {};
}

}  // namespace

void rethrow_as_api_error(const AmoError& e) {
  using http::ApiError;
  using http::Err;
  switch (e.kind) {
    case Failure::kTimeout:
      throw ApiError(Err::kAmoTimeout);
    case Failure::kNetwork:
      throw ApiError(Err::kAmoUnavailable, {}, 5);
    case Failure::kRateLimited:
      throw ApiError(Err::kAmoRateLimited, {}, e.retry_after.value_or(1));
    case Failure::kServer:
      if (e.status == 503) throw ApiError(Err::kAmoUnavailable, {}, e.retry_after.value_or(5));
      throw ApiError(Err::kAmoError);
    case Failure::kGarbage:
      throw ApiError(Err::kAmoError, "amoCRM sent an answer that could not be read");
    case Failure::kRejected:
      if (e.status == 403) throw ApiError(Err::kForbidden, "amoCRM refused access to this account");
      throw ApiError(Err::kAmoError);
  }
  throw ApiError(Err::kAmoError);
}

Client::Client(const Config& cfg, Metrics& metrics)
    : cfg_(cfg), metrics_(metrics), user_agent_(std::string("amo-connect/") + AMO_VERSION) {}

std::string Client::origin_for(const std::string& host) const {
  return cfg_.amo_base_url ? *cfg_.amo_base_url : "https://" + host;
}

Client::Raw Client::perform(const std::string& method, const std::string& url,
                            const std::string& body, const std::string& bearer,
                            const char* endpoint_label) {
  CURL* c = thread_handle();
  Sink sink;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  std::string auth;
  if (!bearer.empty()) {
    auth = "Authorization: Bearer " + bearer;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.amo_http_timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(cfg_.amo_http_timeout_ms, 5000)));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(c);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  metrics_.amo_call(endpoint_label, static_cast<int>(status), secs);
  log::record_upstream(endpoint_label, status, secs * 1000);
  if (rc == CURLE_OPERATION_TIMEDOUT) throw AmoError(Failure::kTimeout, 0, "amoCRM timed out");
  if (rc != CURLE_OK)
    throw AmoError(Failure::kNetwork, 0,
                   std::string("amoCRM unreachable: ") + curl_easy_strerror(rc));
  return Raw{status, std::move(sink.body), sink.retry_after};
}

TokenSet Client::token_request(const std::string& host, const std::string& body,
                               const char* label) {
  Raw r = perform("POST", origin_for(host) + "/oauth2/access_token", body, {}, label);
  if (r.status == 429)
    throw AmoError(Failure::kRateLimited, r.status, "amoCRM rate limited the token request", {},
                   r.retry_after);
  if (r.status >= 500)
    throw AmoError(Failure::kServer, r.status, "amoCRM token endpoint failed", problem_text(r.body),
                   r.retry_after);
  if (r.status != 200)
    throw AmoError(Failure::kRejected, r.status, "amoCRM rejected the token request",
                   problem_text(r.body));
  rapidjson::Document d;
  if (!json::try_parse(r.body, d) || !d.IsObject())
    throw AmoError(Failure::kGarbage, r.status, "amoCRM token answer is not JSON");
  TokenSet t;
  auto access = json::get_string(d, "access_token");
  auto refresh = json::get_string(d, "refresh_token");
  auto expires = json::get_int(d, "expires_in");
  if (!access || !refresh || access->empty() || refresh->empty() || !expires || *expires <= 0)
    throw AmoError(Failure::kGarbage, r.status, "amoCRM token answer lacks tokens");
  t.access_token = *access;
  t.refresh_token = *refresh;
  // amoCRM says 86400; keep whatever it says within sane bounds.
  t.expires_in = std::clamp<int64_t>(*expires, 60, 90 * 86400);
  t.server_time = json::get_int(d, "server_time").value_or(0);
  return t;
}

TokenSet Client::grant(const std::string& host, const char* grant_type, const char* field,
                       const std::string& value) {
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "client_id", cfg_.amo_client_id);
    json::kv(w, "client_secret", cfg_.amo_client_secret);
    json::kv(w, "grant_type", grant_type);
    json::kv(w, field, value);
    json::kv(w, "redirect_uri", cfg_.amo_redirect_uri);
    w.EndObject();
  });
  std::string label = std::string("oauth2/access_token:") + grant_type;
  return token_request(host, body, label.c_str());
}

TokenSet Client::exchange_code(const std::string& host, const std::string& code) {
  return grant(host, "authorization_code", "code", code);
}

TokenSet Client::refresh(const std::string& host, const std::string& refresh_token) {
  return grant(host, "refresh_token", "refresh_token", refresh_token);
}

ApiResponse Client::get(const std::string& host, const std::string& path_and_query,
                        const std::string& access_token, const char* endpoint_label) {
  Raw r = perform("GET", origin_for(host) + path_and_query, {}, access_token, endpoint_label);
  return ApiResponse{r.status, std::move(r.body), r.retry_after};
}

void Client::exchange_api_key(const std::string& host, const std::string& login,
                              const std::string& api_key, const std::string& state) {
  std::string body = json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "login", login);
    json::kv(w, "api_key", api_key);
    json::kv(w, "client_uuid", cfg_.amo_client_id);
    json::kv(w, "client_secret", cfg_.amo_client_secret);
    json::kv(w, "state", state);
    w.EndObject();
  });
  Raw r = perform("POST", origin_for(host) + "/oauth2/exchange_api_key", body, {},
                  "oauth2/exchange_api_key");
  if (r.status == 202 || r.status == 200) return;
  if (r.status == 429)
    throw AmoError(Failure::kRateLimited, r.status, "amoCRM rate limited the API-key exchange", {},
                   r.retry_after);
  if (r.status >= 500)
    throw AmoError(Failure::kServer, r.status, "amoCRM API-key exchange failed",
                   problem_text(r.body));
  throw AmoError(Failure::kRejected, r.status, "amoCRM rejected the API-key exchange",
                 problem_text(r.body));
}

Account Client::parse_account(const std::string& body) {
  rapidjson::Document d;
  if (!json::try_parse(body, d) || !d.IsObject())
    throw AmoError(Failure::kGarbage, 200, "amoCRM account answer is not JSON");
  auto id = json::get_int(d, "id");
  if (!id || *id <= 0) throw AmoError(Failure::kGarbage, 200, "amoCRM account answer has no id");
  Account a;
  a.id = *id;
  auto name = d.FindMember("name");
  if (name != d.MemberEnd() && name->value.IsString()) a.name = name->value.GetString();
  auto sub = d.FindMember("subdomain");
  if (sub != d.MemberEnd() && sub->value.IsString()) a.subdomain = sub->value.GetString();
  return a;
}

}  // namespace amo::amo_api
