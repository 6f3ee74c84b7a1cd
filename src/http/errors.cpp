#include "http/errors.hpp"

#include "http/response.hpp"
#include "util/json.hpp"

namespace amo::http {

namespace {
// The one error → status table.
const ErrInfo kTable[] = {
    {400, "bad_request", "The request is not valid"},
    {400, "invalid_json", "Request body is not valid JSON"},
    {400, "invalid_parameter", "A parameter is not valid"},
    {400, "missing_parameter", "A required parameter is missing"},
    {401, "unauthorized", "A valid Bearer token is required"},
    {403, "forbidden", "This action is not allowed"},
    {404, "not_found", "No such endpoint"},
    {405, "method_not_allowed", "This method is not allowed here"},
    {409, "not_connected", "amoCRM is not connected for this user"},
    {409, "reauthorization_required", "The amoCRM connection must be authorized again"},
    {409, "code_already_used", "This authorization code was already used"},
    {413, "payload_too_large", "Request body is larger than 64 KiB"},
    {415, "unsupported_media_type", "Request body must be application/json"},
    {429, "rate_limited", "Too many requests; retry later"},
    {500, "internal_error", "Internal error"},
    {502, "amo_exchange_failed", "amoCRM rejected the authorization code"},
    {502, "amo_error", "amoCRM answered with an error"},
    {503, "amo_unavailable", "amoCRM is unavailable; retry later"},
    {503, "database_unavailable", "The database is unavailable; retry later"},
    {504, "amo_timeout", "amoCRM did not answer in time"},
    {429, "amo_rate_limited", "amoCRM rate limit reached; retry later"},
    {400, "access_denied", "Access to the amoCRM account was denied"},
    {400, "missing_code", "The authorization code is missing"},
    {400, "invalid_state", "The authorization request is unknown, expired or already used"},
    {400, "invalid_client", "The authorization was issued for another integration"},
    {400, "invalid_referer", "The amoCRM account host is not allowed"},
    {400, "account_not_allowed", "This amoCRM account may not be connected"},
    {502, "exchange_failed", "amoCRM did not accept the authorization"},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == static_cast<size_t>(Err::kExchangeFailed) + 1,
              "every Err has a row");
}  // namespace

const ErrInfo& info(Err e) { return kTable[static_cast<size_t>(e)]; }

ApiError::ApiError(Err e, std::string message, std::optional<int> retry_after_s)
    : std::runtime_error(info(e).code),
      err_(e),
      message_(message.empty() ? info(e).message : std::move(message)),
      retry_after_(retry_after_s) {
  if (!retry_after_ && (info(e).status == 503 || info(e).status == 429)) retry_after_ = 1;
}

Response error_response(const ApiError& e) {
  Response r = Response::json(e.status(), json::write([&](json::Writer& w) {
                                w.StartObject();
                                json::kv(w, "success", false);
                                w.Key("error");
                                w.StartObject();
                                json::kv(w, "code", std::string_view(e.code()));
                                json::kv(w, "message", std::string_view(e.public_message()));
                                w.EndObject();
                                w.EndObject();
                              }));
  if (e.retry_after()) r.set_header("Retry-After", std::to_string(*e.retry_after()));
  if (e.status() == 401) r.set_header("WWW-Authenticate", "Bearer");
  for (auto& h : e.headers) r.set_header(h.first, h.second);
  return r;
}

Response error_response(Err e, const std::string& message) {
  return error_response(ApiError(e, message));
}

}  // namespace amo::http
