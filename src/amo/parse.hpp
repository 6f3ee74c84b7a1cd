#pragma once
// amoCRM's answers → our values, as pure functions (no I/O, unit- and fuzz-tested).
// Every body is parsed with the upstream bounds (8 MiB, 64 levels, valid UTF-8); anything
// that is not what amoCRM sends throws AmoError(kGarbage) — a 502 amo_bad_response,
// never a client error.
#include <string>
#include <string_view>

#include "amo/client.hpp"
#include "util/json.hpp"

namespace amo::amo_api {

// The document of an amoCRM answer, which must be a JSON object.
rapidjson::Document parse_body(std::string_view body, const char* what);

// POST /oauth2/access_token → 200 body. Lifetimes are clamped to [60 s, 90 days].
TokenSet parse_token(std::string_view body);
// GET /api/v4/account → 200 body. The name is cleaned (valid UTF-8, no control
// characters, at most 255 characters) so it can be stored and shown.
Account parse_account(std::string_view body);
// The most useful safe text of an error body (problem+json hint/title/detail), at most 200
// bytes of valid UTF-8; empty when there is none.
std::string problem_text(std::string_view body);
// How an API GET answered, when it is not a success (200/204): nullopt for success.
std::optional<Failure> api_failure(long status);

}  // namespace amo::amo_api
