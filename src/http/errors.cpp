#include "http/errors.hpp"

#include "http/response.hpp"
#include "util/json.hpp"

namespace amo::http {

namespace {
using core::Fault;
struct Row {
  Fault fault;
  ErrInfo info;
};
// The one fault → status table; rows in the order of core::Fault (checked below).
constexpr Row kTable[] = {
    {Fault::kBadRequest, {400, "bad_request", "The request is not valid"}},
    {Fault::kInvalidJson, {400, "invalid_json", "Request body is not valid JSON"}},
    {Fault::kInvalidParameter, {400, "invalid_parameter", "A parameter is not valid"}},
    {Fault::kMissingParameter, {400, "missing_parameter", "A required parameter is missing"}},
    {Fault::kUnauthorized, {401, "unauthorized", "A valid Bearer token is required"}},
    {Fault::kForbidden, {403, "forbidden", "This action is not allowed"}},
    {Fault::kNotFound, {404, "not_found", "No such endpoint"}},
    {Fault::kMethodNotAllowed, {405, "method_not_allowed", "This method is not allowed here"}},
    {Fault::kPayloadTooLarge, {413, "payload_too_large", "Request body is larger than 64 KiB"}},
    {Fault::kUnsupportedMediaType,
     {415, "unsupported_media_type", "Request body must be application/json"}},
    {Fault::kNotConnected, {409, "not_connected", "amoCRM is not connected for this user"}},
    {Fault::kReauthRequired,
     {409, "reauthorization_required", "The amoCRM connection must be authorized again"}},
    {Fault::kCodeAlreadyUsed,
     {409, "code_already_used", "This authorization code was already used"}},
    {Fault::kRateLimited, {429, "rate_limited", "Too many requests; retry later"}},
    {Fault::kAccessDenied, {400, "access_denied", "Access to the amoCRM account was denied"}},
    {Fault::kMissingCode, {400, "missing_code", "The authorization code is missing"}},
    {Fault::kInvalidState,
     {400, "invalid_state", "The authorization request is unknown, expired or already used"}},
    {Fault::kInvalidClient,
     {400, "invalid_client", "The authorization was issued for another integration"}},
    {Fault::kInvalidReferer, {400, "invalid_referer", "The amoCRM account host is not allowed"}},
    {Fault::kAccountNotAllowed,
     {400, "account_not_allowed", "This amoCRM account may not be connected"}},
    {Fault::kExchangeFailed, {502, "exchange_failed", "amoCRM did not accept the authorization"}},
    {Fault::kExchangeUnavailable,
     {503, "exchange_failed", "amoCRM is unavailable; try connecting again shortly"}},
    {Fault::kExchangeTimedOut,
     {504, "exchange_failed", "amoCRM did not answer in time; try connecting again"}},
    {Fault::kRedemptionInProgress,
     {503, "exchange_failed", "This authorization is still being completed; retry shortly"}},
    {Fault::kDbUnavailable,
     {503, "database_unavailable", "The database is unavailable; retry later"}},
    {Fault::kDbBusy, {503, "database_unavailable", "The database is busy; retry later"}},
    {Fault::kAmoCodeRejected,
     {502, "amo_exchange_failed", "amoCRM rejected the authorization code"}},
    {Fault::kAmoRejected, {502, "amo_error", "amoCRM answered with an error"}},
    {Fault::kAmoBadResponse,
     {502, "amo_bad_response", "amoCRM sent an answer that could not be read"}},
    {Fault::kAmoUnavailable, {503, "amo_unavailable", "amoCRM is unavailable; retry later"}},
    {Fault::kAmoTimeout, {504, "amo_timeout", "amoCRM did not answer in time"}},
    {Fault::kAmoRateLimited, {429, "amo_rate_limited", "amoCRM rate limit reached; retry later"}},
    {Fault::kAmoForbidden, {403, "forbidden", "amoCRM refused access to this account"}},
    {Fault::kInternal, {500, "internal_error", "Internal error"}},
};
constexpr size_t kRows = sizeof(kTable) / sizeof(kTable[0]);
static_assert(kRows == static_cast<size_t>(Fault::kInternal) + 1, "every Fault has a row");
constexpr bool in_order() {
  for (size_t i = 0; i < kRows; ++i)
    if (static_cast<size_t>(kTable[i].fault) != i) return false;
  return true;
}
static_assert(in_order(), "rows follow the order of core::Fault");
}  // namespace

const ErrInfo& info(Fault f) { return kTable[static_cast<size_t>(f)].info; }

Response error_response(const core::Error& e) {
  const ErrInfo& i = info(e.fault());
  const std::string_view message =
      e.public_message().empty() ? std::string_view(i.message) : e.public_message();
  Response r = Response::json(i.status, json::write([&](json::Writer& w) {
                                w.StartObject();
                                json::kv(w, "success", false);
                                w.Key("error");
                                w.StartObject();
                                json::kv(w, "code", i.code);
                                json::kv(w, "message", message);
                                w.EndObject();
                                w.EndObject();
                              }));
  if (i.status == 503 || i.status == 429)
    r.set_header("Retry-After", std::to_string(std::max(1, e.retry_after().value_or(1))));
  if (i.status == 401) r.set_header("WWW-Authenticate", "Bearer");
  r.set_header("Cache-Control", "no-store");  // an error is about this request only
  return r;
}

Response error_response(Fault f, const std::string& message) {
  return error_response(core::Error(f, message));
}

}  // namespace amo::http
