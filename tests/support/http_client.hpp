#pragma once
// A small libcurl client for tests (no redirects followed, no proxy).
#include <map>
#include <string>
#include <vector>

namespace amo::test {

struct HttpResult {
  long status = 0;                             // 0: no answer (curl error in `error`)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResult http(const std::string& method, const std::string& url,
                const std::vector<std::string>& headers = {}, const std::string& body = {},
                long timeout_ms = 30000);
inline HttpResult http_get(const std::string& url, const std::vector<std::string>& headers = {}) {
  return http("GET", url, headers);
}
std::string bearer(const std::string& jwt);

}  // namespace amo::test
