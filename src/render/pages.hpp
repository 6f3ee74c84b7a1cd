#pragma once
// The HTML pages of GET …/callback (docs/API.md): success and error, rendered from the
// Mustache templates in TEMPLATES_DIR, in English, Ukrainian or Russian.
//
// Templates (all loaded and validated once, in the constructor):
//   layout.mustache        the page shell shared by both pages; includes the partials
//                          {{> style}}, {{> content}} and {{> script}}
//   success.mustache       the body of the success page (the "content" partial)
//   error.mustache         the body of the error page (the "content" partial)
//   page.css.mustache      the text of the <style> element (static, no tags)
//   return.js.mustache     the text of the <script> element (static, no tags)
// The style and script texts are hashed once (SHA-256) into the Content-Security-Policy,
// so no 'unsafe-inline' is needed. The deep link travels in the button's data-link
// attribute; the script reads it from there, so no request data is ever put in a script.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace amo::render {

enum class Lang { kEn, kUk, kRu };

// Picks the page language from an Accept-Language header (RFC 9110 §12.5.4): the supported
// language (uk, ru, en) with the highest q-value wins, ties go to the one listed first;
// q=0 excludes; "*" stands for English. Anything unparsable or unsupported → English.
Lang choose_language(std::string_view accept_language);

// "en", "uk" or "ru" (the <html lang> value).
std::string_view language_tag(Lang lang);

struct PageResult {
  std::string html;  // the complete document
  std::string csp;   // the Content-Security-Policy value (same as in headers())
};

class Pages {
 public:
  // Loads and validates the templates; throws std::runtime_error naming the file that is
  // missing, unreadable or invalid.
  explicit Pages(const std::string& templates_dir);

  // Success page; deep link "<app_deep_link>?success=true&state=<url-encoded state>".
  PageResult success(Lang lang, const std::string& app_deep_link, const std::string& state) const;

  // Error page (its status is the caller's: the one error table decides it). `code` is one
  // of access_denied, missing_code, invalid_state, invalid_client, invalid_referer,
  // account_not_allowed, database_unavailable, exchange_failed; anything else is treated as
  // exchange_failed (text and the code in the deep link). `variant` picks a more precise
  // explanation of exchange_failed: "unavailable" or "timeout". Deep link
  // "<app_deep_link>?error=<code>" plus "&state=<url-encoded state>" when state is non-empty.
  PageResult error(Lang lang, const std::string& app_deep_link, const std::string& code,
                   const std::string& state, const std::string& variant = {}) const;

  // Response headers for both pages: Content-Type, Cache-Control, Referrer-Policy,
  // X-Content-Type-Options, X-Frame-Options, Content-Security-Policy.
  std::vector<std::pair<std::string, std::string>> headers() const;

  const std::string& csp() const { return csp_; }

  // The error codes known to error().
  static const std::vector<std::string>& error_codes();

 private:
  std::string render(Lang lang, const std::string& content, const std::string& title,
                     const std::string& heading, const std::string& message,
                     const std::string& link) const;

  std::string layout_;
  std::string success_;
  std::string error_;
  std::string style_;
  std::string script_;
  std::string csp_;
};

}  // namespace amo::render
