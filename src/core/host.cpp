#include "core/host.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "core/text.hpp"

namespace amo::core {

std::optional<std::string> normalize_host(std::string_view raw) {
  if (raw.empty() || raw.size() > 253) return std::nullopt;
  std::string host;
  host.reserve(raw.size());
  for (char c : raw) {
    c = ascii_lower(c);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return std::nullopt;
    host.push_back(c);
  }
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string::npos)
    return std::nullopt;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return std::nullopt;
  return host;
}

std::optional<std::string> allowed_host(std::string_view raw,
                                        const std::vector<std::string>& allowed) {
  auto host = normalize_host(raw);
  if (!host) return std::nullopt;
  const std::string& h = *host;
  bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const std::string& d) {
    if (d.empty()) return false;
    if (h == d) return true;
    return h.size() > d.size() + 1 && h.compare(h.size() - d.size(), d.size(), d) == 0 &&
           h[h.size() - d.size() - 1] == '.';
  });
  if (!ok) return std::nullopt;
  return host;
}

}  // namespace amo::core
