#include "render/pages.hpp"

#include <array>
#include <cstddef>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <sstream>
#include <stdexcept>

#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "http/request.hpp"

namespace amo::render {
namespace {

// ---------------------------------------------------------------------------------------
// Every user-visible string of the callback pages, in one place. Index: Lang.
// ---------------------------------------------------------------------------------------
constexpr size_t kLangs = 3;
using Text = std::array<const char*, kLangs>;  // en, uk, ru

struct Strings {
  Text title_success;
  Text title_error;
  Text heading_success;
  Text message_success;
  Text heading_failed;
  Text heading_missing_code;
  Text prompt;
  Text button;
};

const Strings kStrings = {
    /*title_success=*/{"AMO CRM Authorization", "Авторизація AMO CRM", "Авторизация AMO CRM"},
    /*title_error=*/
    {"AMO CRM Authorization Error", "Помилка авторизації AMO CRM", "Ошибка авторизации AMO CRM"},
    /*heading_success=*/
    {"✓ Authorization successful!", "✓ Авторизацію успішно виконано!",
     "✓ Авторизация прошла успешно!"},
    /*message_success=*/
    {"Your AMO CRM account has been successfully connected.",
     "Ваш обліковий запис AMO CRM успішно підключено.", "Ваш аккаунт AMO CRM успешно подключён."},
    /*heading_failed=*/
    {"✗ Authorization failed", "✗ Не вдалося авторизуватися", "✗ Не удалось авторизоваться"},
    /*heading_missing_code=*/
    {"✗ Authorization code is missing", "✗ Відсутній код авторизації",
     "✗ Отсутствует код авторизации"},
    /*prompt=*/
    {"Please tap the button below to return to the app:",
     "Натисніть кнопку нижче, щоб повернутися до застосунку:",
     "Нажмите кнопку ниже, чтобы вернуться в приложение:"},
    /*button=*/{"Return to App", "Повернутися до застосунку", "Вернуться в приложение"},
};

struct ErrorInfo {
  const char* code;
  const char* variant;  // "" or why exchange_failed happened ("unavailable", "timeout")
  Text explanation;
};

const std::array<ErrorInfo, 10> kErrors = {{
    {"access_denied",
     "",
     {"Access was denied in AMO CRM, so your account was not connected.",
      "Доступ відхилено в AMO CRM, тому ваш обліковий запис не підключено.",
      "Доступ был отклонён в AMO CRM, поэтому ваш аккаунт не подключён."}},
    {"missing_code",
     "",
     {"AMO CRM did not send an authorization code. Please start the connection again from "
      "the app.",
      "AMO CRM не надіслала код авторизації. Почніть підключення ще раз у застосунку.",
      "AMO CRM не передала код авторизации. Начните подключение заново в приложении."}},
    {"invalid_state",
     "",
     {"This authorization link has expired or has already been used. Please start the "
      "connection again from the app.",
      "Термін дії цього посилання для авторизації минув, або його вже використано. Почніть "
      "підключення ще раз у застосунку.",
      "Срок действия этой ссылки для авторизации истёк, или она уже использована. Начните "
      "подключение заново в приложении."}},
    {"invalid_client",
     "",
     {"This authorization was issued for a different integration. Please start the "
      "connection again from the app.",
      "Цю авторизацію видано для іншої інтеграції. Почніть підключення ще раз у застосунку.",
      "Эта авторизация выдана для другой интеграции. Начните подключение заново в "
      "приложении."}},
    {"invalid_referer",
     "",
     {"The authorization came from an unrecognized AMO CRM address and was not accepted.",
      "Авторизація надійшла з невідомої адреси AMO CRM, тому її не прийнято.",
      "Авторизация пришла с неизвестного адреса AMO CRM, поэтому она не принята."}},
    {"account_not_allowed",
     "",
     {"This AMO CRM account cannot be connected to the app. Please sign in to your "
      "company's account.",
      "Цей обліковий запис AMO CRM не можна підключити до застосунку. Увійдіть в обліковий "
      "запис вашої компанії.",
      "Этот аккаунт AMO CRM нельзя подключить к приложению. Войдите в аккаунт вашей "
      "компании."}},
    {"database_unavailable",
     "",
     {"The service is temporarily unavailable. Please try again in a minute.",
      "Сервіс тимчасово недоступний. Спробуйте ще раз за хвилину.",
      "Сервис временно недоступен. Попробуйте ещё раз через минуту."}},
    {"exchange_failed",
     "unavailable",
     {"AMO CRM is temporarily unavailable, so the connection could not be completed. Please "
      "try again in a minute.",
      "AMO CRM тимчасово недоступна, тому підключення не завершено. Спробуйте ще раз за "
      "хвилину.",
      "AMO CRM временно недоступна, поэтому подключение не завершено. Попробуйте ещё раз через "
      "минуту."}},
    {"exchange_failed",
     "timeout",
     {"AMO CRM did not answer in time, so the connection could not be completed. Please try "
      "again.",
      "AMO CRM не відповіла вчасно, тому підключення не завершено. Спробуйте ще раз.",
      "AMO CRM не ответила вовремя, поэтому подключение не завершено. Попробуйте ещё раз."}},
    {"exchange_failed",
     "",
     {"AMO CRM could not complete the connection. Please try again in a few minutes.",
      "AMO CRM не вдалося завершити підключення. Спробуйте ще раз за кілька хвилин.",
      "AMO CRM не удалось завершить подключение. Попробуйте ещё раз через несколько минут."}},
}};

const ErrorInfo& error_info(const std::string& code, const std::string& variant) {
  const ErrorInfo* plain = nullptr;
  for (const auto& e : kErrors) {
    if (code != e.code) continue;
    if (variant == e.variant) return e;
    if (!*e.variant) plain = &e;
  }
  return plain ? *plain : kErrors.back();  // exchange_failed
}

size_t index_of(Lang lang) { return static_cast<size_t>(lang); }
std::string text(const Text& t, Lang lang) { return t[index_of(lang)]; }

// ---------------------------------------------------------------------------------------
// Accept-Language
// ---------------------------------------------------------------------------------------
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"; returns the lower-case primary
// subtag ("*" for the wildcard) or "" when malformed.
std::string primary_subtag(std::string_view range) {
  if (range == "*") return "*";
  std::string primary;
  size_t i = 0;
  while (i < range.size() && is_alpha(range[i])) primary.push_back(core::ascii_lower(range[i++]));
  if (primary.empty() || primary.size() > 8) return "";
  while (i < range.size()) {
    if (range[i] != '-') return "";
    ++i;
    size_t n = 0;
    while (i < range.size() && (is_alpha(range[i]) || is_digit(range[i]))) ++i, ++n;
    if (n == 0 || n > 8) return "";
  }
  return primary;
}

// qvalue = ("0" ["." 0*3DIGIT]) / ("1" ["." 0*3("0")]), as thousandths; -1 when malformed.
int parse_qvalue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int whole = v[0] - '0';
  int frac = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return -1;
    int scale = 100;
    for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (!is_digit(v[i])) return -1;
      frac += (v[i] - '0') * scale;
    }
  }
  int q = whole * 1000 + frac;
  return q > 1000 ? -1 : q;
}

}  // namespace

Lang choose_language(std::string_view header) {
  constexpr size_t kMaxHeader = 4096;
  constexpr int kMaxItems = 64;
  if (header.size() > kMaxHeader) header = header.substr(0, kMaxHeader);

  Lang best = Lang::kEn;
  int best_q = 0;  // only q > 0 can win
  int items = 0;
  while (!header.empty() && items++ < kMaxItems) {
    const size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (item.empty()) continue;

    const size_t semi = item.find(';');
    const std::string primary = primary_subtag(trim(item.substr(0, semi)));
    if (primary.empty()) continue;

    int q = 1000;
    bool ok = true;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
    while (ok && !params.empty()) {
      const size_t next = params.find(';');
      std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const size_t eq = param.find('=');
      if (eq == std::string_view::npos) {
        ok = false;
        break;
      }
      std::string_view name = trim(param.substr(0, eq));
      if (name == "q" || name == "Q") q = parse_qvalue(trim(param.substr(eq + 1)));
      if (q < 0) ok = false;
    }
    if (!ok) continue;

    Lang lang;
    if (primary == "en" || primary == "*") {
      lang = Lang::kEn;
    } else if (primary == "uk") {
      lang = Lang::kUk;
    } else if (primary == "ru") {
      lang = Lang::kRu;
    } else {
      continue;
    }
    if (q > best_q) {
      best = lang;
      best_q = q;
    }
  }
  return best;
}

std::string_view language_tag(Lang lang) {
  switch (lang) {
    case Lang::kUk:
      return "uk";
    case Lang::kRu:
      return "ru";
    case Lang::kEn:
      break;
  }
  return "en";
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------
namespace {

std::string read_template(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read template " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read template " + path);
  std::string text = ss.str();
  kainjow::mustache::mustache tmpl{text};
  if (!tmpl.is_valid()) {
    throw std::runtime_error("invalid template " + path + ": " + tmpl.error_message());
  }
  return text;
}

// The style and script must be literal text: no Mustache tags (their hash is computed
// once), and nothing that could end their element early.
void check_static(const std::string& dir, const std::string& name, const std::string& text,
                  const std::string& closing_tag) {
  kainjow::mustache::mustache tmpl{text};
  if (tmpl.render(kainjow::mustache::data{}) != text) {
    throw std::runtime_error("template " + dir + "/" + name + " must be static text");
  }
  std::string lowered;
  for (char c : text) lowered.push_back(core::ascii_lower(c));
  if (lowered.find(closing_tag) != std::string::npos || lowered.find("<!--") != std::string::npos) {
    throw std::runtime_error("template " + dir + "/" + name + " must not contain " + closing_tag);
  }
}

std::string csp_hash(const std::string& text) {
  return "'sha256-" + crypto::base64_encode(crypto::sha256(text)) + "'";
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::string with_query(const std::string& base, const std::string& query) {
  return base + (base.find('?') == std::string::npos ? '?' : '&') + query;
}

}  // namespace

Pages::Pages(const std::string& templates_dir) {
  layout_ = read_template(templates_dir, "layout.mustache");
  success_ = read_template(templates_dir, "success.mustache");
  error_ = read_template(templates_dir, "error.mustache");
  style_ = read_template(templates_dir, "page.css.mustache");
  script_ = read_template(templates_dir, "return.js.mustache");
  check_static(templates_dir, "page.css.mustache", style_, "</style");
  check_static(templates_dir, "return.js.mustache", script_, "</script");

  csp_ = "default-src 'none'; style-src " + csp_hash(style_) + "; script-src " + csp_hash(script_) +
         "; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  // The hashes only hold if the style and script land in the page byte for byte.
  const std::string style_el = "<style>" + style_ + "</style>";
  const std::string script_el = "<script>" + script_ + "</script>";
  for (const std::string* content : {&success_, &error_}) {
    const std::string page = render(Lang::kEn, *content, "t", "h", "m", "x:");
    if (page.empty() || count(page, style_el) != 1 || count(page, "<style") != 1 ||
        count(page, script_el) != 1 || count(page, "<script") != 1) {
      throw std::runtime_error("template " + templates_dir +
                               "/layout.mustache must contain <style>{{> style}}</style> and "
                               "<script>{{> script}}</script> exactly once");
    }
  }
}

const std::vector<std::string>& Pages::error_codes() {
  static const std::vector<std::string> codes = [] {
    std::vector<std::string> v;
    for (const auto& e : kErrors)
      if (!*e.variant) v.emplace_back(e.code);
    return v;
  }();
  return codes;
}

std::string Pages::render(Lang lang, const std::string& content, const std::string& title,
                          const std::string& heading, const std::string& message,
                          const std::string& link) const {
  namespace mu = kainjow::mustache;
  mu::data d;
  d.set("lang", std::string(language_tag(lang)));
  d.set("title", title);
  d.set("heading", heading);
  d.set("message", message);
  d.set("prompt", text(kStrings.prompt, lang));
  d.set("button", text(kStrings.button, lang));
  d.set("link", link);
  d.set("style", mu::partial([this] { return style_; }));
  d.set("script", mu::partial([this] { return script_; }));
  d.set("content", mu::partial([&content] { return content; }));
  mu::mustache tmpl{layout_};
  std::string html = tmpl.render(d);
  if (!tmpl.is_valid()) throw std::runtime_error("template error: " + tmpl.error_message());
  return html;
}

PageResult Pages::success(Lang lang, const std::string& app_deep_link,
                          const std::string& state) const {
  const std::string link =
      with_query(app_deep_link, "success=true&state=" + http::url_encode(state));
  return {render(lang, success_, text(kStrings.title_success, lang),
                 text(kStrings.heading_success, lang), text(kStrings.message_success, lang), link),
          csp_};
}

PageResult Pages::error(Lang lang, const std::string& app_deep_link, const std::string& code,
                        const std::string& state, const std::string& variant) const {
  const ErrorInfo& info = error_info(code, variant);
  std::string query = std::string("error=") + info.code;
  if (!state.empty()) query += "&state=" + http::url_encode(state);
  const Text& heading = std::string_view(info.code) == "missing_code"
                            ? kStrings.heading_missing_code
                            : kStrings.heading_failed;
  return {render(lang, error_, text(kStrings.title_error, lang), text(heading, lang),
                 text(info.explanation, lang), with_query(app_deep_link, query)),
          csp_};
}

std::vector<std::pair<std::string, std::string>> Pages::headers() const {
  return {
      {"Content-Type", "text/html; charset=utf-8"},
      {"Cache-Control", "no-store"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy", csp_},
  };
}

}  // namespace amo::render
