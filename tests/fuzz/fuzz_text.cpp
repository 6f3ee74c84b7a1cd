// UTF-8 text: core::utf8_sequence, valid_utf8, code_points, repair_utf8 and clean_text,
// checked against a reference decoder written from the definition (RFC 3629) and against
// each other.
#include "core/text.hpp"
#include "fuzz_check.hpp"

using namespace amo;

namespace {

// Length of the well-formed sequence at s[i] by decoding it and checking the code point,
// or 0. Independent of core::utf8_sequence's table of lead/continuation bytes.
size_t reference_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0)
    n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks clean_text's bound; the rest is the text.
  const size_t max_cps = size ? data[0] % 64 : 0;
  const std::string_view s = size ? fuzz::as_text(data + 1, size - 1) : std::string_view{};

  size_t count = 0;
  bool valid = true;
  for (size_t i = 0; i < s.size(); ++count) {
    const size_t n = core::utf8_sequence(s, i), want = reference_sequence(s, i);
    FUZZ_CHECK(n == want, "utf8_sequence at %zu is %zu, the definition says %zu", i, n, want);
    if (n == 0) {
      valid = false;
      break;
    }
    i += n;
  }
  FUZZ_CHECK(core::valid_utf8(s) == valid, "valid_utf8 disagrees with the definition");
  const auto cps = core::code_points(s);
  FUZZ_CHECK(cps.has_value() == valid && (!valid || *cps == count), "code_points is wrong");

  const std::string repaired = core::repair_utf8(s);
  FUZZ_CHECK(core::valid_utf8(repaired), "repair_utf8 output is not valid UTF-8");
  if (valid)
    FUZZ_CHECK(repaired == s, "repair_utf8 changed valid text");
  else
    FUZZ_CHECK(repaired.find("\xEF\xBF\xBD") != std::string::npos, "no U+FFFD in a repair");
  FUZZ_CHECK(core::repair_utf8(repaired) == repaired, "repair_utf8 is not idempotent");
  FUZZ_CHECK(repaired.size() <= 3 * s.size(), "repair grew %zu bytes to %zu", s.size(),
             repaired.size());

  const std::string clean = core::clean_text(s, max_cps);
  const auto clean_cps = core::code_points(clean);
  FUZZ_CHECK(clean_cps && *clean_cps <= max_cps, "clean_text is invalid or over %zu", max_cps);
  for (char c : clean) {
    auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK((b >= 0x20 && b != 0x7F) || c == '\t' || c == '\n', "clean_text kept 0x%02x", b);
  }
  // Cleaning is a prefix operation on the repaired text: a longer bound only adds.
  const std::string longer = core::clean_text(s, max_cps + 1);
  FUZZ_CHECK(longer.compare(0, clean.size(), clean) == 0, "clean_text(n) is no prefix of n+1");
  FUZZ_CHECK(core::clean_text(clean, max_cps) == clean, "clean_text is not idempotent");
  return 0;
}
