#pragma once
// amoCRM account hosts. Host names are case-insensitive, so a host is normalized (lower
// case) once, where it enters the system — the callback's referer, exchange-code's referer,
// the configuration — and stored and compared only in that form: one account, one name,
// one pacing bucket.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace amo::core {

// The lower-case form of a plain DNS host name ("Reforyou.AmoCRM.ru" → "reforyou.amocrm.ru"),
// or nullopt when it is not one: only letters, digits, '-' and '.', no empty label, at most
// 253 bytes, not an IPv4 address — so never "user@host", a port, a path or spaces.
std::optional<std::string> normalize_host(std::string_view raw);

// The normalized host when it equals, or ends at a label boundary in, one of `allowed`
// (normalized domains: "x.amocrm.ru" for "amocrm.ru"; never "evilamocrm.ru" or
// "amocrm.ru.evil.com"); nullopt otherwise.
std::optional<std::string> allowed_host(std::string_view raw,
                                        const std::vector<std::string>& allowed);

}  // namespace amo::core
