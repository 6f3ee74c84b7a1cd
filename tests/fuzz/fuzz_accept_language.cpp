// Accept-Language: render::choose_language. Besides "no crash": the answer is one of the
// three languages, a language wins only when the header names it, a trailing empty item
// changes nothing, and English comes of anything unsupported.
#include <algorithm>

#include "fuzz_check.hpp"
#include "render/pages.hpp"

using namespace amo;

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view h = fuzz::as_text(data, size);
  const render::Lang lang = render::choose_language(h);
  const std::string_view tag = render::language_tag(lang);
  FUZZ_CHECK(tag == "en" || tag == "uk" || tag == "ru", "unknown language tag");

  // Only the first 4096 bytes are read.
  const std::string seen = lower(h.substr(0, 4096));
  if (lang == render::Lang::kUk) FUZZ_CHECK(seen.find("uk") != std::string::npos, "uk unnamed");
  if (lang == render::Lang::kRu) FUZZ_CHECK(seen.find("ru") != std::string::npos, "ru unnamed");
  if (seen.find("uk") == std::string::npos && seen.find("ru") == std::string::npos)
    FUZZ_CHECK(lang == render::Lang::kEn, "neither uk nor ru named, yet %.*s",
               static_cast<int>(tag.size()), tag.data());

  if (h.size() < 4096) {
    const std::string more = std::string(h) + ",";
    FUZZ_CHECK(render::choose_language(more) == lang, "a trailing ',' changed the language");
  }
  // Deterministic.
  FUZZ_CHECK(render::choose_language(h) == lang, "two answers for one header");
  return 0;
}
