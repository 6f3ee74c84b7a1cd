// Callback pages (docs/openapi.yaml, GET /api/amo-crm/callback): language choice, texts, deep
// links, escaping of hostile input, the Content-Security-Policy hashes, and the colours
// (WCAG AA contrast of every text colour).
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "http/request.hpp"
#include "render/pages.hpp"

namespace fs = std::filesystem;
using amo::render::choose_language;
using amo::render::Lang;
using amo::render::PageResult;
using amo::render::Pages;

namespace {

const std::string kTemplates = AMO_SOURCE_DIR "/templates";
const std::string kDeepLink = "foryoure://amo-crm/callback";

const Pages& pages() {
  static const Pages p(kTemplates);
  return p;
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Text between `open` and `close` (first occurrence); fails the test when absent.
std::string between(const std::string& s, const std::string& open, const std::string& close) {
  const size_t a = s.find(open);
  BOOST_REQUIRE_MESSAGE(a != std::string::npos, "missing " << open);
  const size_t b = s.find(close, a + open.size());
  BOOST_REQUIRE_MESSAGE(b != std::string::npos, "missing " << close);
  return s.substr(a + open.size(), b - a - open.size());
}

// The declarations of the rule `selector { … }` in a style sheet, whitespace-collapsed
// ("color: #2E7D32;"); fails the test when the rule is absent or not unique.
std::string css_rule(const std::string& css, const std::string& selector) {
  const std::string open = selector + " {";
  size_t a = std::string::npos;
  for (size_t p = css.find(open); p != std::string::npos; p = css.find(open, p + 1)) {
    if (p == 0 || css[p - 1] == '\n') {
      BOOST_REQUIRE_MESSAGE(a == std::string::npos, "rule " << selector << " twice");
      a = p;
    }
  }
  BOOST_REQUIRE_MESSAGE(a != std::string::npos, "no rule " << selector);
  const size_t b = css.find('}', a);
  BOOST_REQUIRE(b != std::string::npos);
  std::string out;
  for (char c : css.substr(a + open.size(), b - a - open.size())) {
    if (c == '\n' || c == ' ') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// WCAG 2 contrast ratio of two "#rrggbb" / "#rgb" colours (relative luminance, sRGB).
double contrast(const std::string& a, const std::string& b) {
  auto luminance = [](std::string hex) {
    BOOST_REQUIRE(hex.size() == 4 || hex.size() == 7);
    if (hex.size() == 4) hex = {'#', hex[1], hex[1], hex[2], hex[2], hex[3], hex[3]};
    double lum = 0;
    const double weight[3] = {0.2126, 0.7152, 0.0722};
    for (int i = 0; i < 3; ++i) {
      const double c = std::stoi(hex.substr(1 + 2 * i, 2), nullptr, 16) / 255.0;
      lum += weight[i] * (c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4));
    }
    return lum;
  };
  const double la = luminance(a), lb = luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

// Decodes the five HTML character references that Mustache produces (and fails on any
// other '&', which would mean the attribute was not what we think it is).
std::string html_unescape(const std::string& s) {
  static const std::vector<std::pair<std::string, char>> kRefs = {
      {"&amp;", '&'},  {"&lt;", '<'},    {"&gt;", '>'},
      {"&quot;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    bool matched = false;
    for (const auto& [ref, ch] : kRefs) {
      if (s.compare(i, ref.size(), ref) == 0) {
        out.push_back(ch);
        i += ref.size();
        matched = true;
        break;
      }
    }
    BOOST_REQUIRE_MESSAGE(matched, "unexpected '&' in attribute: " << s);
  }
  return out;
}

// The deep link as the browser will see it: the decoded data-link attribute of the button.
std::string data_link(const std::string& html) {
  BOOST_REQUIRE_EQUAL(count(html, "data-link=\""), 1u);
  const std::string raw = between(html, "data-link=\"", "\"");
  BOOST_CHECK(!contains(raw, "<"));
  BOOST_CHECK(!contains(raw, ">"));
  BOOST_CHECK(!contains(raw, "'"));
  return html_unescape(raw);
}

std::string csp_source_hash(const std::string& text) {
  return "'sha256-" + amo::crypto::base64_encode(amo::crypto::sha256(text)) + "'";
}

std::vector<PageResult> all_pages(Lang lang, const std::string& state) {
  std::vector<PageResult> out{pages().success(lang, kDeepLink, state)};
  for (const auto& code : Pages::error_codes()) {
    out.push_back(pages().error(lang, kDeepLink, code, state));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(render)

BOOST_AUTO_TEST_CASE(language_choice) {
  BOOST_CHECK(choose_language("") == Lang::kEn);
  BOOST_CHECK(choose_language("en-US,en;q=0.9") == Lang::kEn);
  BOOST_CHECK(choose_language("uk") == Lang::kUk);
  BOOST_CHECK(choose_language("uk-UA,uk;q=0.9,en-US;q=0.8,en;q=0.7") == Lang::kUk);
  BOOST_CHECK(choose_language("ru-RU") == Lang::kRu);
  BOOST_CHECK(choose_language("RU-ru") == Lang::kRu);
  BOOST_CHECK(choose_language("ru-RU;q=0.9, uk;q=0.8") == Lang::kRu);
  BOOST_CHECK(choose_language("ru-RU;q=0.8, uk;q=0.9") == Lang::kUk);
  BOOST_CHECK(choose_language("uk;q=0.5, ru;q=0.5") == Lang::kUk);  // tie: first listed
  BOOST_CHECK(choose_language("en;q=0.3, ru;q=0.7") == Lang::kRu);
  BOOST_CHECK(choose_language("de-DE, fr;q=0.9, ru;q=0.1") == Lang::kRu);
  BOOST_CHECK(choose_language("de-DE, fr;q=0.9") == Lang::kEn);
  BOOST_CHECK(choose_language("*;q=0.5, uk") == Lang::kUk);
  BOOST_CHECK(choose_language("ru;q=0, uk;q=0.001") == Lang::kUk);
  BOOST_CHECK(choose_language("ru;q=0") == Lang::kEn);
  BOOST_CHECK(choose_language("  uk ; q=1.0 ") == Lang::kUk);
  BOOST_CHECK(choose_language("ru;q=1.000, uk;q=0.999") == Lang::kRu);
  // Garbage → English; malformed entries are skipped, not misread.
  BOOST_CHECK(choose_language("garbage!!") == Lang::kEn);
  BOOST_CHECK(choose_language(";;;,,,==") == Lang::kEn);
  BOOST_CHECK(choose_language("ru;q=2") == Lang::kEn);
  BOOST_CHECK(choose_language("ru;q=abc") == Lang::kEn);
  BOOST_CHECK(choose_language("ru;q=0.5.5") == Lang::kEn);
  BOOST_CHECK(choose_language("ru;q") == Lang::kEn);
  BOOST_CHECK(choose_language("ruuuuuuuu") == Lang::kEn);
  BOOST_CHECK(choose_language("r u") == Lang::kEn);
  BOOST_CHECK(choose_language("rus") == Lang::kEn);
  BOOST_CHECK(choose_language("ru;q=abc, uk;q=0.2") == Lang::kUk);
  BOOST_CHECK(choose_language(std::string(100000, ',') + "ru") == Lang::kEn);  // bounded
  BOOST_CHECK(choose_language(std::string("uk\0ru", 5)) == Lang::kEn);
}

BOOST_AUTO_TEST_CASE(success_page_english) {
  const PageResult r = pages().success(Lang::kEn, kDeepLink, "abc123");
  BOOST_CHECK(r.html.rfind("<!DOCTYPE html>", 0) == 0);
  BOOST_CHECK(contains(r.html, "<html lang=\"en\">"));
  BOOST_CHECK(contains(r.html, "<meta charset=\"utf-8\">"));
  BOOST_CHECK(contains(r.html, "name=\"viewport\""));
  BOOST_CHECK(contains(r.html, "✓ Authorization successful!"));
  BOOST_CHECK(contains(r.html, "Your AMO CRM account has been successfully connected."));
  BOOST_CHECK(contains(r.html, "Please tap the button below to return to the app:"));
  BOOST_CHECK(contains(r.html, ">Return to App</button>"));
  BOOST_CHECK(contains(r.html, "<button id=\"return\" type=\"button\""));
  BOOST_CHECK_EQUAL(data_link(r.html), "foryoure://amo-crm/callback?success=true&state=abc123");
  BOOST_CHECK(contains(r.html, "<h1 class=\"status success\">✓ Authorization successful!</h1>"));
  // The seeds' look: grey page, white card, green identity, white button with blue text.
  const std::string css = between(r.html, "<style>", "</style>");
  BOOST_CHECK(contains(css_rule(css, "body"), "background: #f5f5f5;"));
  BOOST_CHECK(contains(css_rule(css, "body"), "font-family: -apple-system, BlinkMacSystemFont,"));
  BOOST_CHECK(contains(css_rule(css, ".container"), "background: #fff; border-radius: 8px;"));
  BOOST_CHECK_EQUAL(css_rule(css, ".container:has(.success)"), "border-top: 4px solid #4CAF50;");
  BOOST_CHECK_EQUAL(css_rule(css, ".success"), "color: #2E7D32;");
  BOOST_CHECK(contains(css_rule(css, "button"), "color: #0066CC;"));
  BOOST_CHECK(contains(css_rule(css, "button"), "background: white;"));
  BOOST_CHECK(contains(css_rule(css, "button"), "border-radius: 8px;"));
  BOOST_CHECK_EQUAL(css_rule(css, "button:focus-visible"),
                    "outline: 2px solid #007AFF; outline-offset: 2px;");
}

// Every text colour on its background meets WCAG 2 AA for normal text (4.5:1; the title is
// 18px at weight 500, not "large"); the identity colours #4CAF50 / #f44336 only draw the card's
// top edge and #007AFF the focus ring, which need 3:1 (non-text contrast) against the white card.
BOOST_AUTO_TEST_CASE(colours_meet_wcag_aa_contrast) {
  const std::string css =
      between(pages().success(Lang::kEn, kDeepLink, "s").html, "<style>", "</style>");
  struct Case {
    std::string selector, declaration, colour, background;
    double ratio, minimum;
  };
  const std::vector<Case> cases = {
      {".success", "color: #2E7D32;", "#2E7D32", "#ffffff", 5.13, 4.5},
      {".error", "color: #C62828;", "#C62828", "#ffffff", 5.62, 4.5},
      {".message", "color: #666;", "#666", "#ffffff", 5.74, 4.5},
      {"button", "color: #0066CC;", "#0066CC", "#ffffff", 5.57, 4.5},
      {"button:active", "background: #f0f0f0;", "#0066CC", "#f0f0f0", 4.88, 4.5},
      {"body", "color: #333;", "#333", "#f5f5f5", 11.59, 4.5},
      {".container:has(.success)", "border-top: 4px solid #4CAF50;", "#4CAF50", "#f5f5f5", 2.55, 1},
      {".container:has(.error)", "border-top: 4px solid #f44336;", "#f44336", "#f5f5f5", 3.38, 1},
      {"button:focus-visible", "outline: 2px solid #007AFF;", "#007AFF", "#ffffff", 4.02, 3},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.selector) {
      BOOST_CHECK(contains(css_rule(css, c.selector), c.declaration));
      const double ratio = contrast(c.colour, c.background);
      BOOST_CHECK_EQUAL(std::round(ratio * 100) / 100, c.ratio);
      BOOST_CHECK_GE(ratio, c.minimum);
    }
  }
  // The pre-fix text colours, for the record: each fails AA for this text.
  BOOST_CHECK_LT(contrast("#4CAF50", "#ffffff"), 4.5);  // 2.78
  BOOST_CHECK_LT(contrast("#f44336", "#ffffff"), 4.5);  // 3.68
  BOOST_CHECK_LT(contrast("#007AFF", "#ffffff"), 4.5);  // 4.02
}

BOOST_AUTO_TEST_CASE(error_pages_title_and_link) {
  struct Case {
    std::string code;
    std::string heading;
  };
  const std::vector<Case> cases = {
      {"access_denied", "✗ Authorization failed"},
      {"missing_code", "✗ Authorization code is missing"},
      {"invalid_state", "✗ Authorization failed"},
      {"invalid_client", "✗ Authorization failed"},
      {"invalid_referer", "✗ Authorization failed"},
      {"account_not_allowed", "✗ Authorization failed"},
      {"database_unavailable", "✗ Authorization failed"},
      {"exchange_failed", "✗ Authorization failed"},
  };
  BOOST_CHECK_EQUAL(Pages::error_codes().size(), cases.size());
  std::vector<std::string> explanations;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.code) {
      const PageResult r = pages().error(Lang::kEn, kDeepLink, c.code, "");
      BOOST_CHECK(contains(r.html, "<h1 class=\"status error\">" + c.heading + "</h1>"));
      BOOST_CHECK_EQUAL(count(r.html, "<h1"), 1u);
      BOOST_CHECK(!contains(r.html, "class=\"status success\""));
      const std::string css = between(r.html, "<style>", "</style>");
      BOOST_CHECK_EQUAL(css_rule(css, ".container:has(.error)"), "border-top: 4px solid #f44336;");
      BOOST_CHECK_EQUAL(css_rule(css, ".error"), "color: #C62828;");
      BOOST_CHECK(contains(r.html, "Please tap the button below to return to the app:"));
      BOOST_CHECK(contains(r.html, ">Return to App</button>"));
      BOOST_CHECK_EQUAL(data_link(r.html), kDeepLink + "?error=" + c.code);
      const std::string expl = between(r.html, "<p class=\"message\">", "</p>");
      BOOST_CHECK(expl.size() > 20);
      explanations.push_back(expl);
      if (c.code != "missing_code") {
        BOOST_CHECK(!contains(r.html, "Authorization code is missing"));
      }
    }
  }
  // Each code has its own explanation.
  for (size_t i = 0; i < explanations.size(); ++i) {
    for (size_t j = i + 1; j < explanations.size(); ++j) {
      BOOST_CHECK_NE(explanations[i], explanations[j]);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_error_code_is_exchange_failed) {
  const PageResult known = pages().error(Lang::kEn, kDeepLink, "exchange_failed", "s1");
  for (const std::string code :
       {"", "auth_failed", "<b>boom</b>", "Request failed: 500", "exchange_failed\" onclick=\"x"}) {
    const PageResult r = pages().error(Lang::kEn, kDeepLink, code, "s1");
    BOOST_CHECK_EQUAL(r.html, known.html);
    BOOST_CHECK_EQUAL(data_link(r.html), kDeepLink + "?error=exchange_failed&state=s1");
  }
}

BOOST_AUTO_TEST_CASE(exchange_failed_explains_why) {
  auto expl = [](const std::string& variant, Lang lang) {
    auto r = pages().error(lang, kDeepLink, "exchange_failed", "s", variant);
    BOOST_CHECK_EQUAL(data_link(r.html), kDeepLink + "?error=exchange_failed&state=s");
    return between(r.html, "<p class=\"message\">", "</p>");
  };
  for (Lang lang : {Lang::kEn, Lang::kUk, Lang::kRu}) {
    const std::string plain = expl("", lang), down = expl("unavailable", lang),
                      slow = expl("timeout", lang);
    BOOST_CHECK_NE(plain, down);
    BOOST_CHECK_NE(plain, slow);
    BOOST_CHECK_NE(down, slow);
    BOOST_CHECK_EQUAL(expl("no-such-variant", lang), plain);
  }
  BOOST_CHECK(contains(expl("unavailable", Lang::kEn), "temporarily unavailable"));
  BOOST_CHECK(contains(expl("timeout", Lang::kEn), "did not answer in time"));
}

BOOST_AUTO_TEST_CASE(error_link_carries_state_when_known) {
  const PageResult r = pages().error(Lang::kEn, kDeepLink, "invalid_state", "st-1_2.3~");
  BOOST_CHECK_EQUAL(data_link(r.html), kDeepLink + "?error=invalid_state&state=st-1_2.3~");
  const PageResult s = pages().error(Lang::kEn, kDeepLink, "access_denied", "a b&c=d");
  BOOST_CHECK_EQUAL(data_link(s.html), kDeepLink + "?error=access_denied&state=a%20b%26c%3Dd");
}

BOOST_AUTO_TEST_CASE(deep_link_construction) {
  const std::string state = "Ab+/=?&#%\xD1\x8F";
  const PageResult r = pages().success(Lang::kEn, kDeepLink, state);
  const std::string link = data_link(r.html);
  BOOST_CHECK_EQUAL(link, kDeepLink + "?success=true&state=" + amo::http::url_encode(state));
  BOOST_CHECK_EQUAL(link, kDeepLink + "?success=true&state=Ab%2B%2F%3D%3F%26%23%25%D1%8F");
  // The state round-trips through the query.
  const std::string query = link.substr(link.find('?') + 1);
  amo::http::Request req;
  req.query = query;
  BOOST_CHECK_EQUAL(req.param("state").value_or("<none>"), state);
  BOOST_CHECK_EQUAL(req.param("success").value_or("<none>"), "true");
  BOOST_CHECK_EQUAL(req.params().size(), 2u);

  // Empty state on success still has the parameter (the app reads it); on error it is omitted.
  BOOST_CHECK_EQUAL(data_link(pages().success(Lang::kEn, kDeepLink, "").html),
                    kDeepLink + "?success=true&state=");
  BOOST_CHECK_EQUAL(data_link(pages().error(Lang::kEn, kDeepLink, "missing_code", "").html),
                    kDeepLink + "?error=missing_code");

  // A configured deep link that already has a query gets '&'.
  BOOST_CHECK_EQUAL(data_link(pages().success(Lang::kEn, "myapp://cb?x=1", "s").html),
                    "myapp://cb?x=1&success=true&state=s");
  // Another configured deep link is used as is.
  BOOST_CHECK_EQUAL(data_link(pages().success(Lang::kEn, "exp://192.168.1.5:8081/--/cb", "s").html),
                    "exp://192.168.1.5:8081/--/cb?success=true&state=s");
}

BOOST_AUTO_TEST_CASE(hostile_state_is_escaped) {
  const std::vector<std::string> hostile = {
      "\"><script>alert(1)</script>",
      "'-alert(1)-'",
      "javascript:alert(1)",
      "</script>",
      "</script><script>alert(1)</script>",
      "\" onmouseover=\"alert(1)",
      "' onclick='alert(1)",
      "<img src=x onerror=alert(1)>",
      "&quot;&#39;&lt;",
      "{{link}}{{{style}}}{{> script}}",
      "x\r\nSet-Cookie: a=b",
      "\xE2\x80\xA8\xE2\x80\xA9",
      std::string("nul\0byte", 8),
      "')}); window.open('http://evil/', '_self'); ({'",
  };
  for (const Lang lang : {Lang::kEn, Lang::kUk, Lang::kRu}) {
    for (const auto& state : hostile) {
      BOOST_TEST_CONTEXT("state=" << state) {
        const auto results = all_pages(lang, state);
        const auto benign = all_pages(lang, "benign");
        for (size_t i = 0; i < results.size(); ++i) {
          const std::string& html = results[i].html;
          // The state never appears raw (beyond what the page itself contains, e.g. its
          // one legitimate "</script>").
          BOOST_CHECK_EQUAL(count(html, state), count(benign[i].html, state));
          BOOST_CHECK(!contains(html, "alert(1)"));
          BOOST_CHECK(!contains(html, "javascript:"));
          // Letters may survive (inside the encoded query), punctuation may not.
          BOOST_CHECK(!contains(html, "onerror="));
          BOOST_CHECK(!contains(html, "onmouseover="));
          BOOST_CHECK(!contains(html, "onclick="));
          BOOST_CHECK(!contains(html, "'http"));
          BOOST_CHECK(!contains(html, "{{"));
          BOOST_CHECK(!contains(html, "Set-Cookie:"));
          BOOST_CHECK(!contains(html, "\r"));
          BOOST_CHECK_EQUAL(count(html, "<script"), 1u);
          BOOST_CHECK_EQUAL(count(html, "</script>"), 1u);
          BOOST_CHECK_EQUAL(count(html, "<style"), 1u);
          BOOST_CHECK_EQUAL(count(html, "<img"), 0u);
          BOOST_CHECK_EQUAL(count(html, "<button"), 1u);
          BOOST_CHECK_EQUAL(count(html, "data-link="), 1u);
          // The link decodes to exactly the expected deep link; the state cannot leave its
          // query parameter.
          const std::string link = data_link(html);
          const std::string encoded = amo::http::url_encode(state);
          const std::string expected =
              i == 0 ? kDeepLink + "?success=true&state=" + encoded
                     : kDeepLink + "?error=" + Pages::error_codes()[i - 1] + "&state=" + encoded;
          BOOST_CHECK_EQUAL(link, expected);
          amo::http::Request req;
          req.query = link.substr(link.find('?') + 1);
          BOOST_CHECK(req.param("state") == state);
          BOOST_CHECK_EQUAL(req.params().size(), 2u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(hostile_deep_link_config_is_still_escaped) {
  const PageResult r = pages().success(Lang::kEn, "x://a\"><script>alert(1)</script>", "s");
  BOOST_CHECK(!contains(r.html, "\"><script>alert(1)"));
  BOOST_CHECK_EQUAL(count(r.html, "<script"), 1u);
  BOOST_CHECK_EQUAL(data_link(r.html), "x://a\"><script>alert(1)</script>?success=true&state=s");
}

BOOST_AUTO_TEST_CASE(texts_in_three_languages) {
  struct Expect {
    Lang lang;
    std::string tag, ok, connected, prompt, button, failed, missing;
  };
  const std::vector<Expect> langs = {
      {Lang::kEn, "en", "✓ Authorization successful!",
       "Your AMO CRM account has been successfully connected.",
       "Please tap the button below to return to the app:", "Return to App",
       "✗ Authorization failed", "✗ Authorization code is missing"},
      {Lang::kUk, "uk", "✓ Авторизацію успішно виконано!",
       "Ваш обліковий запис AMO CRM успішно підключено.",
       "Натисніть кнопку нижче, щоб повернутися до застосунку:", "Повернутися до застосунку",
       "✗ Не вдалося авторизуватися", "✗ Відсутній код авторизації"},
      {Lang::kRu, "ru", "✓ Авторизация прошла успешно!", "Ваш аккаунт AMO CRM успешно подключён.",
       "Нажмите кнопку ниже, чтобы вернуться в приложение:", "Вернуться в приложение",
       "✗ Не удалось авторизоваться", "✗ Отсутствует код авторизации"},
  };
  std::vector<std::string> seen;
  for (const auto& e : langs) {
    BOOST_TEST_CONTEXT(e.tag) {
      const PageResult ok = pages().success(e.lang, kDeepLink, "s");
      BOOST_CHECK(contains(ok.html, "<html lang=\"" + e.tag + "\">"));
      BOOST_CHECK(contains(ok.html, ">" + e.ok + "</h1>"));
      BOOST_CHECK(contains(ok.html, ">" + e.connected + "</p>"));
      BOOST_CHECK(contains(ok.html, ">" + e.prompt + "</p>"));
      BOOST_CHECK(contains(ok.html, ">" + e.button + "</button>"));
      BOOST_CHECK_EQUAL(data_link(ok.html), kDeepLink + "?success=true&state=s");
      const PageResult missing = pages().error(e.lang, kDeepLink, "missing_code", "");
      BOOST_CHECK(contains(missing.html, ">" + e.missing + "</h1>"));
      BOOST_CHECK(contains(missing.html, ">" + e.button + "</button>"));
      for (const auto& code : Pages::error_codes()) {
        const PageResult r = pages().error(e.lang, kDeepLink, code, "");
        if (code != "missing_code") BOOST_CHECK(contains(r.html, ">" + e.failed + "</h1>"));
        BOOST_CHECK(contains(r.html, "<html lang=\"" + e.tag + "\">"));
        BOOST_CHECK(contains(r.html, ">" + e.prompt + "</p>"));
        const std::string expl = between(r.html, "<p class=\"message\">", "</p>");
        BOOST_CHECK(!expl.empty());
        // No English left in a translated page (other than the product name).
        if (e.lang != Lang::kEn) {
          BOOST_CHECK(!contains(r.html, "Authorization"));
          BOOST_CHECK(!contains(r.html, "Please"));
          BOOST_CHECK(!contains(r.html, "Return to App"));
        }
        seen.push_back(expl);
      }
    }
  }
  // 7 codes × 3 languages, all distinct.
  for (size_t i = 0; i < seen.size(); ++i) {
    for (size_t j = i + 1; j < seen.size(); ++j) BOOST_CHECK_NE(seen[i], seen[j]);
  }
}

BOOST_AUTO_TEST_CASE(no_automatic_redirect) {
  for (const Lang lang : {Lang::kEn, Lang::kUk, Lang::kRu}) {
    for (const auto& r : all_pages(lang, "s")) {
      BOOST_CHECK(!contains(r.html, "location.href"));
      BOOST_CHECK(!contains(r.html, "location.replace"));
      BOOST_CHECK(!contains(r.html, "location.assign"));
      BOOST_CHECK(!contains(r.html, "http-equiv=\"refresh\""));
      BOOST_CHECK(!contains(r.html, "http-equiv"));
      BOOST_CHECK(!contains(r.html, "setTimeout"));
      BOOST_CHECK(!contains(r.html, "setInterval"));
      BOOST_CHECK(!contains(r.html, "onclick"));
      BOOST_CHECK(!contains(r.html, "onload"));
      BOOST_CHECK(!contains(r.html, "style=\""));
      // The button opens the link itself, in place, only when tapped.
      const std::string script = between(r.html, "<script>", "</script>");
      BOOST_CHECK(contains(script, "addEventListener('click'"));
      BOOST_CHECK(contains(script, "window.open(this.dataset.link, '_self')"));
    }
  }
}

BOOST_AUTO_TEST_CASE(csp_hashes_match_page) {
  const std::string expected_prefix = "default-src 'none'; style-src 'sha256-";
  for (const Lang lang : {Lang::kEn, Lang::kUk, Lang::kRu}) {
    for (const auto& r : all_pages(lang, "\"></style></script>")) {
      BOOST_CHECK_EQUAL(r.csp, pages().csp());
      const std::string style = between(r.html, "<style>", "</style>");
      const std::string script = between(r.html, "<script>", "</script>");
      BOOST_CHECK(!style.empty());
      BOOST_CHECK(!script.empty());
      const std::string expected = "default-src 'none'; style-src " + csp_source_hash(style) +
                                   "; script-src " + csp_source_hash(script) +
                                   "; img-src 'none'; base-uri 'none'; form-action 'none'; "
                                   "frame-ancestors 'none'";
      BOOST_CHECK_EQUAL(r.csp, expected);
      BOOST_CHECK(!contains(r.csp, "unsafe"));
    }
  }
  // Known-answer check of the hash format (base64 of 32 bytes: 44 characters with '=').
  const std::string csp = pages().csp();
  const size_t p = csp.find("'sha256-");
  BOOST_REQUIRE(p != std::string::npos);
  const size_t end = csp.find('\'', p + 1);
  BOOST_CHECK_EQUAL(end - p - 8, 44u);
}

BOOST_AUTO_TEST_CASE(security_headers) {
  const auto headers = pages().headers();
  auto get = [&](const std::string& name) {
    std::string value;
    int n = 0;
    for (const auto& [k, v] : headers) {
      if (k == name) {
        value = v;
        ++n;
      }
    }
    BOOST_CHECK_MESSAGE(n == 1, name << " present " << n << " times");
    return value;
  };
  BOOST_CHECK_EQUAL(get("Content-Type"), "text/html; charset=utf-8");
  BOOST_CHECK_EQUAL(get("Cache-Control"), "no-store");
  BOOST_CHECK_EQUAL(get("Referrer-Policy"), "no-referrer");
  BOOST_CHECK_EQUAL(get("X-Content-Type-Options"), "nosniff");
  BOOST_CHECK_EQUAL(get("X-Frame-Options"), "DENY");
  BOOST_CHECK_EQUAL(get("Content-Security-Policy"), pages().csp());
  BOOST_CHECK_EQUAL(headers.size(), 6u);
}

BOOST_AUTO_TEST_CASE(missing_or_bad_template_is_named) {
  const fs::path dir =
      fs::temp_directory_path() / ("amo-render-test-" + std::to_string(::getpid()));
  const std::vector<std::string> files = {"layout.mustache", "success.mustache", "error.mustache",
                                          "page.css.mustache", "return.js.mustache"};
  auto reset = [&] {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& f : files) fs::copy_file(fs::path(kTemplates) / f, dir / f);
  };
  auto expect_error_naming = [&](const std::string& needle) {
    try {
      Pages p(dir.string());
      BOOST_ERROR("no exception; expected one naming " << needle);
    } catch (const std::runtime_error& e) {
      BOOST_CHECK_MESSAGE(contains(e.what(), needle), e.what() << " does not name " << needle);
    }
  };

  reset();
  BOOST_CHECK_NO_THROW(Pages p(dir.string()));
  for (const auto& f : files) {
    reset();
    fs::remove(dir / f);
    expect_error_naming(f);
  }
  // Invalid Mustache.
  reset();
  std::ofstream(dir / "success.mustache") << "{{#open}} never closed";
  expect_error_naming("success.mustache");
  // Style/script must be static text (the CSP hash is computed once).
  reset();
  std::ofstream(dir / "return.js.mustache") << "window.open('{{link}}', '_self');";
  expect_error_naming("return.js.mustache");
  reset();
  std::ofstream(dir / "page.css.mustache") << "body{} </style><script>x()</script>";
  expect_error_naming("page.css.mustache");
  // A layout that drops the style or script element is refused.
  reset();
  std::ofstream(dir / "layout.mustache") << "<html>{{> content}}</html>";
  expect_error_naming("layout.mustache");
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
