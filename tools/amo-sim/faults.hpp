#pragma once
// amo-sim: the bodies of injected failures (fail_next), as pure functions of the answer the
// endpoint would have given. Nothing here touches the simulator's state.
#include <string>

namespace amosim::faults {

// The body kinds fail_next accepts.
bool known_body(const std::string& body);
// Kinds built from the endpoint's real answer (wrong_types, missing_fields, invalid_utf8,
// truncated, close).
bool needs_real_answer(const std::string& body);

// `real` is the JSON text the endpoint would have answered; `endpoint` is token_code,
// token_refresh, account, leads, pipelines or exchange; `field` (may be empty) limits
// wrong_types / missing_fields / invalid_utf8 to the members of that name, at any depth.
//  wrong_types    every member (or every `field` member) with another JSON type: string →
//                 number, number → string, bool → string, null → {}, object → array of its
//                 values, array → object {"0": …}; applied all the way down
//  missing_fields the required members removed (token: access_token, refresh_token,
//                 expires_in; account: id; leads/pipelines: _embedded; exchange: status)
//  invalid_utf8   every string value (or every `field` value) gets the bytes C3 28 (a lead
//                 byte without its continuation) and C0 AF (an overlong '/') appended; a
//                 `field` member that is not a string becomes a string of those bytes
//  truncated      a strict prefix cut inside a string value past the middle
std::string shape(const std::string& body, const std::string& real, const std::string& endpoint,
                  const std::string& field);

// `[` × 200000 then `]` × 200000 (built once).
const std::string& deep_body();
// A 50 MiB JSON object {"padding":"xxxx…"} (built once, shared by every answer).
const std::string& huge_body();

}  // namespace amosim::faults
