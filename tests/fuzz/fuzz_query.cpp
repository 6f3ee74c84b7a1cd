// Query strings and form bodies: http::parse_query, url_decode/url_encode, Request::param,
// Request::params and the query-parameter readers of http/input.hpp.
#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "core/text.hpp"
#include "fuzz_check.hpp"
#include "http/input.hpp"
#include "http/request.hpp"

using namespace amo;

namespace {

// The parameters handlers read; each is also looked up on every input.
constexpr const char* kNames[] = {"page",  "limit", "query",   "code",         "state",
                                  "order", "error", "referer", "from_exchange"};

void check_readers(const http::Request& req) {
  for (const char* name : kNames) {
    try {
      auto n = http::int_param(req, name, 1, 100000);
      if (n) FUZZ_CHECK(*n >= 1 && *n <= 100000, "int_param out of bounds: %lld", (long long)*n);
    } catch (const core::Error& e) {
      FUZZ_CHECK(e.fault() == core::Fault::kInvalidParameter, "int_param threw fault %d",
                 static_cast<int>(e.fault()));
    }
    try {
      auto t = http::text_param(req, name, 200);
      if (t) {
        auto n = core::code_points(*t);
        FUZZ_CHECK(n && *n <= 200, "text_param returned invalid or long text");
        FUZZ_CHECK(*t == *req.param(name), "text_param differs from param");
      }
    } catch (const core::Error& e) {
      FUZZ_CHECK(e.fault() == core::Fault::kInvalidParameter, "text_param threw fault %d",
                 static_cast<int>(e.fault()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view q = fuzz::as_text(data, size);
  const auto pairs = http::parse_query(q);

  // No more pairs than '&'-separated parts; no pair from an empty part.
  FUZZ_CHECK(pairs.size() <= static_cast<size_t>(std::count(q.begin(), q.end(), '&')) + 1,
             "%zu pairs from %zu bytes", pairs.size(), q.size());
  // Decoding never grows a component: each pair is at most as long as the input.
  size_t decoded = 0;
  for (auto& [k, v] : pairs) decoded += k.size() + v.size();
  FUZZ_CHECK(decoded <= q.size(), "decoded %zu bytes from %zu", decoded, q.size());

  http::Request req;
  req.query = std::string(q);
  // param() is the first value of a name; params() keeps the first of repeats.
  const auto all = req.params();
  std::map<std::string, std::string> first;
  for (auto& [k, v] : pairs) first.emplace(k, v);
  FUZZ_CHECK(all == first, "params() differs from the first of each name");
  for (auto& [k, v] : first) {
    auto p = req.param(k);
    FUZZ_CHECK(p && *p == v, "param('%s') differs from the first pair", k.c_str());
  }
  check_readers(req);

  // Encoding is reversible and yields only unreserved characters and escapes.
  const std::string enc = http::url_encode(q);
  FUZZ_CHECK(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_.~%") == std::string::npos,
             "url_encode left a reserved character");
  FUZZ_CHECK(http::url_decode(enc) == q, "url_decode(url_encode(s)) != s");
  // An encoded name and value come back as one pair, whatever they held.
  const auto round = http::parse_query(enc + "=" + enc);
  FUZZ_CHECK(round.size() == 1 && round[0].first == q && round[0].second == q,
             "an encoded pair did not round-trip");
  return 0;
}
