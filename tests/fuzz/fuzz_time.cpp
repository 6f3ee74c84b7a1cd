// Client times: core::parse_time (unix seconds, ISO 8601 dates and date-times with zones)
// and core::iso8601. A time that parses is within the supported range, and the canonical
// UTC spelling parses back to the same second.
#include "core/time.hpp"
#include "fuzz_check.hpp"

using namespace amo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = fuzz::as_text(data, size);
  const auto t = core::parse_time(s);
  if (!t) return 0;
  const bool digits = s.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) {
    FUZZ_CHECK(s.size() <= 12 && *t >= 0 && *t <= INT64_C(999999999999), "unix seconds %lld",
               static_cast<long long>(*t));
    return 0;
  }
  // Years 1970..9999, zones within ±23:59.
  FUZZ_CHECK(*t >= -(23 * 3600 + 59 * 60) && *t <= INT64_C(253402300799) + 23 * 3600 + 59 * 60,
             "time %lld out of range", static_cast<long long>(*t));
  if (*t < 0 || *t > INT64_C(253402300799)) return 0;
  const std::string iso = core::iso8601(*t);
  FUZZ_CHECK(core::parse_time(iso) == t, "iso8601(%lld) = %s does not parse back",
             static_cast<long long>(*t), iso.c_str());
  // A date alone is midnight UTC; a UTC date-time without fraction spells the same text.
  if (s.size() == 10)
    FUZZ_CHECK(iso == std::string(s) + "T00:00:00Z", "%s is not midnight", iso.c_str());
  if (s.size() == 20 && (s[19] == 'Z' || s[19] == 'z') && s.substr(17, 2) != "60") {
    std::string want(s);
    want[10] = 'T';
    want[19] = 'Z';
    FUZZ_CHECK(iso == want, "%.*s reads as %s", static_cast<int>(s.size()), s.data(), iso.c_str());
  }
  return 0;
}
