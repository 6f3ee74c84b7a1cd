// The bounded JSON reader: json::parse with the request and the upstream limits, and
// json::nesting_depth. A parse that succeeds never exceeds its bounds, the request bounds
// are the stricter ones, and what was accepted survives a write and a second parse.
#include <rapidjson/document.h>

#include <cmath>

#include "core/text.hpp"
#include "fuzz_check.hpp"

using namespace amo;

namespace {

void check(std::string_view text, const json::Limits& lim, const char* name,
           json::ParseFail* result) {
  rapidjson::Document d;
  const json::ParseFail fail = json::parse(text, d, lim);
  *result = fail;
  const int depth = json::nesting_depth(text, lim.max_depth);
  if (text.size() > lim.max_bytes) {
    FUZZ_CHECK(fail == json::ParseFail::kTooLarge, "%s: %zu bytes not refused as too large", name,
               text.size());
    return;
  }
  if (depth > lim.max_depth) {
    FUZZ_CHECK(fail == json::ParseFail::kTooDeep, "%s: depth %d not refused as too deep", name,
               depth);
    return;
  }
  if (fail != json::ParseFail::kNone) {
    FUZZ_CHECK(d.IsNull(), "%s: a refused parse left a value", name);
    return;
  }
  bool finite = true, doubles = false;
  const int real = fuzz::depth_of(d, [&](const rapidjson::Value& v) {
    if (v.IsString())
      FUZZ_CHECK(core::valid_utf8(std::string_view(v.GetString(), v.GetStringLength())),
                 "%s accepted a string that is not UTF-8", name);
    if (!v.IsDouble()) return;
    doubles = true;
    if (!std::isfinite(v.GetDouble())) finite = false;
  });
  FUZZ_CHECK(real <= lim.max_depth, "%s accepted depth %d over %d", name, real, lim.max_depth);
  FUZZ_CHECK(real <= depth, "%s: nesting_depth %d under the real %d", name, depth, real);
  // RapidJSON 1.1 reads a number just past the double range (2e308, not 1e309) as an
  // infinity, which its Writer refuses to write. No code of ours writes a parsed number back
  // (the JWT claims check isfinite), so such a value is only kept from the round trip.
  if (!finite) return;
  // Written back and parsed again: valid JSON, and the same value.
  const std::string again = json::write([&](json::Writer& w) { d.Accept(w); });
  rapidjson::Document d2;
  FUZZ_CHECK(json::parse(again, d2, json::kUpstreamLimits) == json::ParseFail::kNone,
             "%s: the written form of an accepted value does not parse", name);
  // Without kParseFullPrecisionFlag RapidJSON may read a double 1 ULP off, so a value with
  // doubles is only required to stay valid JSON.
  if (doubles) return;
  // (Compared as text: rapidjson's == looks members up by name, so duplicates differ.)
  FUZZ_CHECK(json::write([&](json::Writer& w) { d2.Accept(w); }) == again,
             "%s: the value changed through a write", name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  json::ParseFail request, upstream;
  check(text, json::kRequestLimits, "request limits", &request);
  check(text, json::kUpstreamLimits, "upstream limits", &upstream);
  if (request == json::ParseFail::kNone)
    FUZZ_CHECK(upstream == json::ParseFail::kNone, "upstream bounds refused what request accepted");
  // The same syntax verdict, whatever the bounds, when neither bound is hit.
  if (request != json::ParseFail::kTooLarge && request != json::ParseFail::kTooDeep)
    FUZZ_CHECK(request == upstream, "the verdict depends on the bounds: %s vs %s",
               json::describe(request), json::describe(upstream));
  return 0;
}
