#pragma once
// Text crossing the boundary (requests, amoCRM answers, the database) is UTF-8 by contract;
// these check it and repair it where repair is the kinder answer.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace amo::core {

// Length of the valid UTF-8 sequence at s[i] (shortest form, no surrogates, ≤ U+10FFFF),
// or 0 when there is none.
size_t utf8_sequence(std::string_view s, size_t i);
bool valid_utf8(std::string_view s);
// Number of code points, or nullopt when `s` is not valid UTF-8.
std::optional<size_t> code_points(std::string_view s);
// Invalid sequences replaced by U+FFFD; valid text is returned unchanged.
std::string repair_utf8(std::string_view s);
// ASCII letters lower-cased, every other byte unchanged (host names, hex, media types,
// header names, language tags: the protocol words that are case-insensitive).
inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}
// A whole decimal number from `lo` to `hi` (digits only: no sign, space or exponent), or
// nullopt.
std::optional<int64_t> parse_decimal(std::string_view s, int64_t lo, int64_t hi);
// Text fit to store and show: repaired UTF-8, control characters (NUL included) dropped
// except tab and newline, cut to at most `max_code_points`.
std::string clean_text(std::string_view s, size_t max_code_points);

}  // namespace amo::core
