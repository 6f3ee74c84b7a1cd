#include "core/text.hpp"

namespace amo::core {

size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4   ? 4
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xC2 && c < 0xE0  ? 2
                                      : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 3 && ((c == 0xE0 && b(i + 1) < 0xA0) || (c == 0xED && b(i + 1) >= 0xA0))) return 0;
  if (n == 4 && ((c == 0xF0 && b(i + 1) < 0x90) || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

std::optional<size_t> code_points(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    size_t n = utf8_sequence(s, i);
    if (n == 0) return std::nullopt;
    i += n;
  }
  return count;
}

bool valid_utf8(std::string_view s) { return code_points(s).has_value(); }

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Calls emit(sequence) for each code point of `s`, U+FFFD standing for an invalid byte.
template <typename F>
void each_code_point(std::string_view s, F&& emit) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence(s, i);
    if (n == 0) {
      if (!emit(kReplacement)) return;
      ++i;
    } else {
      if (!emit(s.substr(i, n))) return;
      i += n;
    }
  }
}
}  // namespace

std::string repair_utf8(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  each_code_point(s, [&](std::string_view cp) {
    out.append(cp);
    return true;
  });
  return out;
}

std::string clean_text(std::string_view s, size_t max_code_points) {
  std::string out;
  size_t count = 0;
  each_code_point(s, [&](std::string_view cp) {
    if (count == max_code_points) return false;
    unsigned char c = static_cast<unsigned char>(cp[0]);
    if (cp.size() == 1 && (c < 0x20 || c == 0x7F) && c != '\t' && c != '\n') return true;
    out.append(cp);
    ++count;
    return true;
  });
  return out;
}

std::optional<int64_t> parse_decimal(std::string_view s, int64_t lo, int64_t hi) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  int64_t n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

}  // namespace amo::core
