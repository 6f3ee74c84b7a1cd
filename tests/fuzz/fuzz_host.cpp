// The referer/host check: core::normalize_host and core::allowed_host. The first line of
// the input is the host; the second, when present, a comma-separated list of allowed
// domains (normalized as the configuration does), else the default amoCRM domains.
#include <algorithm>
#include <vector>

#include "core/host.hpp"
#include "fuzz_check.hpp"

using namespace amo;

namespace {

bool plain_lower(std::string_view h) {
  return !h.empty() && h.size() <= 253 &&
         h.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string_view::npos &&
         h.front() != '.' && h.back() != '.' && h.find("..") == std::string_view::npos;
}

bool ends_at_label(std::string_view h, std::string_view d) {
  return h == d || (h.size() > d.size() + 1 && h.substr(h.size() - d.size()) == d &&
                    h[h.size() - d.size() - 1] == '.');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest;
  const std::string_view raw = fuzz::first_line(fuzz::as_text(data, size), &rest);
  std::vector<std::string> allowed{"amocrm.ru", "amocrm.com", "kommo.com"};
  if (!rest.empty()) {
    allowed.clear();
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      if (auto d = core::normalize_host(rest.substr(0, comma))) allowed.push_back(*d);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }

  const auto norm = core::normalize_host(raw);
  if (norm) {
    FUZZ_CHECK(plain_lower(*norm), "normalize_host returned '%s'", norm->c_str());
    FUZZ_CHECK(norm->size() == raw.size(), "normalize_host changed the length");
    FUZZ_CHECK(core::normalize_host(*norm) == norm, "normalize_host is not idempotent");
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      char want = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
      FUZZ_CHECK((*norm)[i] == want, "normalize_host changed more than case");
    }
  }

  const auto host = core::allowed_host(raw, allowed);
  if (host) {
    FUZZ_CHECK(norm && *host == *norm, "allowed_host differs from normalize_host");
    FUZZ_CHECK(core::normalize_host(*host) == host, "an allowed host changes when normalized");
    FUZZ_CHECK(
        std::none_of(host->begin(), host->end(), [](char c) { return c >= 'A' && c <= 'Z'; }),
        "an allowed host has upper case");
    FUZZ_CHECK(std::any_of(allowed.begin(), allowed.end(),
                           [&](const std::string& d) { return ends_at_label(*host, d); }),
               "'%s' allowed outside every domain", host->c_str());
  } else if (norm) {
    FUZZ_CHECK(std::none_of(allowed.begin(), allowed.end(),
                            [&](const std::string& d) { return ends_at_label(*norm, d); }),
               "'%s' refused inside an allowed domain", norm->c_str());
  }
  // Refusal never depends on case.
  const std::string upper = [&] {
    std::string u(raw);
    for (char& c : u)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return u;
  }();
  FUZZ_CHECK(core::allowed_host(upper, allowed) == host, "allowed_host depends on case");
  return 0;
}
