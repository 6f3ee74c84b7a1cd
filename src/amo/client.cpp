#include "amo/client.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "amo/parse.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo::amo_api {

namespace {

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
  bool too_large = false;
};

size_t on_body(char* p, size_t s, size_t n, void* ud) {
  auto* sink = static_cast<Sink*>(ud);
  if (sink->body.size() + s * n > json::kUpstreamLimits.max_bytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(p, s * n);
  return s * n;
}

size_t on_header(char* p, size_t s, size_t n, void* ud) {
  std::string_view line(p, s * n);
  static constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string v(line.substr(kName.size()));
    char* end = nullptr;
    long secs = std::strtol(v.c_str(), &end, 10);
    if (end != v.c_str() && secs >= 0)
      static_cast<Sink*>(ud)->retry_after = secs > 3600 ? 3600 : static_cast<int>(secs);
  }
  return s * n;
}

}  // namespace

core::Fault fault_of(Failure kind, long status) {
  switch (kind) {
    case Failure::kTimeout:
      return core::Fault::kAmoTimeout;
    case Failure::kNetwork:
    case Failure::kServer:
      return core::Fault::kAmoUnavailable;
    case Failure::kRateLimited:
      return core::Fault::kAmoRateLimited;
    case Failure::kGarbage:
      return core::Fault::kAmoBadResponse;
    case Failure::kRejected:
      return status == 403 ? core::Fault::kAmoForbidden : core::Fault::kAmoRejected;
  }
  return core::Fault::kAmoRejected;
}

namespace {
std::optional<int> default_retry(Failure k, std::optional<int> retry) {
  if (k == Failure::kNetwork || k == Failure::kServer) return retry.value_or(5);
  if (k == Failure::kRateLimited) return retry.value_or(1);
  return retry;
}
}  // namespace

AmoError::AmoError(Failure k, long st, std::string detail_text, std::string h,
                   std::optional<int> retry)
    : core::Error(fault_of(k, st), {}, default_retry(k, retry)),
      kind(k),
      status(st),
      detail(std::move(detail_text)),
      hint(std::move(h)) {}

Client::Client(const Config& cfg, Metrics& metrics)
    : cfg_(cfg), metrics_(metrics), user_agent_(std::string("amo-connect/") + AMO_VERSION) {}

std::string Client::origin_for(const std::string& host) const {
  return cfg_.amo_base_url ? *cfg_.amo_base_url : "https://" + host;
}

ApiResponse Client::perform(const std::string& method, const std::string& url,
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
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(json::kUpstreamLimits.max_bytes));
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(c);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  metrics_.amo_call(endpoint_label, static_cast<int>(rc == CURLE_OK ? status : 0), secs);
  log::record_upstream(endpoint_label, rc == CURLE_OK ? status : 0, secs * 1000);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    throw AmoError(Failure::kGarbage, status, "amoCRM answer is larger than the limit");
  if (rc == CURLE_OPERATION_TIMEDOUT) throw AmoError(Failure::kTimeout, 0, "amoCRM timed out");
  if (rc != CURLE_OK)
    throw AmoError(Failure::kNetwork, 0,
                   std::string("amoCRM unreachable: ") + curl_easy_strerror(rc));
  return ApiResponse{status, std::move(sink.body), sink.retry_after};
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
  ApiResponse r =
      perform("POST", origin_for(host) + "/oauth2/access_token", body, {}, label.c_str());
  if (r.status == 200) return parse_token(r.body);
  auto failure = api_failure(r.status).value_or(Failure::kGarbage);
  throw AmoError(failure, r.status, "amoCRM token request failed", problem_text(r.body),
                 r.retry_after);
}

TokenSet Client::exchange_code(const std::string& host, const std::string& code) {
  return grant(host, "authorization_code", "code", code);
}

TokenSet Client::refresh(const std::string& host, const std::string& refresh_token) {
  return grant(host, "refresh_token", "refresh_token", refresh_token);
}

ApiResponse Client::get(const std::string& host, const std::string& path_and_query,
                        const std::string& access_token, const char* endpoint_label) {
  return perform("GET", origin_for(host) + path_and_query, {}, access_token, endpoint_label);
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
  ApiResponse r = perform("POST", origin_for(host) + "/oauth2/exchange_api_key", body, {},
                          "oauth2/exchange_api_key");
  if (r.status == 202 || r.status == 200) {
    // Nothing in the answer is used, but one that is not amoCRM's (an HTML page, a cut or
    // undecodable body) means the request may never have reached it: not "accepted".
    rapidjson::Document d;
    if (!r.body.empty() &&
        (json::parse(r.body, d, json::kUpstreamLimits) != json::ParseFail::kNone || !d.IsObject()))
      throw AmoError(Failure::kGarbage, r.status, "amoCRM API-key exchange answer is unreadable");
    return;
  }
  auto failure = api_failure(r.status).value_or(Failure::kGarbage);
  throw AmoError(failure, r.status, "amoCRM API-key exchange failed", problem_text(r.body),
                 r.retry_after);
}

}  // namespace amo::amo_api
