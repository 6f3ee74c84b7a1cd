#include "core/time.hpp"

#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>

namespace amo::core {

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

std::string iso8601(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "±hh:mm" → seconds east of UTC.
std::optional<int64_t> zone_offset(std::string_view z) {
  if (z == "Z" || z == "z") return 0;
  if (z.size() != 6 || (z[0] != '+' && z[0] != '-') || z[3] != ':' || !all_digits(z.substr(1, 2)) ||
      !all_digits(z.substr(4, 2)))
    return std::nullopt;
  int h = (z[1] - '0') * 10 + (z[2] - '0'), m = (z[4] - '0') * 10 + (z[5] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return (h * 3600 + m * 60) * (z[0] == '+' ? 1 : -1);
}
}  // namespace

std::optional<int64_t> parse_time(std::string_view s) {
  if (s.size() <= 12 && all_digits(s)) return std::stoll(std::string(s));
  // The fixed part: "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ss" (digits exactly where expected,
  // so std::get_time's leniency about widths and signs never matters).
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  const bool has_time = s.size() > 10;
  const size_t fixed = has_time ? kShape.size() : 10;
  if (s.size() < fixed || s.size() > 40) return std::nullopt;
  for (size_t i = 0; i < fixed; ++i) {
    char want = kShape[i], c = s[i];
    if (want == 'd' ? (c < '0' || c > '9') : want == 'T' ? (c != 'T' && c != 't') : c != want)
      return std::nullopt;
  }
  std::tm tm{};
  std::istringstream in(std::string(s.substr(0, fixed)));
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, has_time ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d");
  if (in.fail()) return std::nullopt;
  int64_t offset = 0;
  if (has_time) {
    std::string_view rest = s.substr(fixed);
    if (!rest.empty() && rest[0] == '.') {
      size_t i = 1;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
      if (i == 1) return std::nullopt;
      rest = rest.substr(i);
    }
    auto z = zone_offset(rest);
    if (!z) return std::nullopt;
    offset = *z;
  }
  if (tm.tm_year + 1900 < 1970 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  const int want_mday = tm.tm_mday, want_mon = tm.tm_mon;
  time_t t = timegm(&tm);  // normalises 2025-02-30 to March: refuse that
  if (tm.tm_mday != want_mday || tm.tm_mon != want_mon) return std::nullopt;
  return static_cast<int64_t>(t) - offset;
}

}  // namespace amo::core
