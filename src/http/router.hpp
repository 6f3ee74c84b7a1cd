#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/request.hpp"
#include "http/response.hpp"

namespace amo {
struct Context;
}

namespace amo::http {

using Handler = std::function<Response(const Request&, Context&)>;

// The two prefixes every API route is served under (SPEC §2).
inline constexpr const char* kPrefixes[] = {"/api/amo-crm", "/api/v1/integrations/amo-crm"};

class Router {
 public:
  // An API route: "/status" is served at both prefixes. `name` labels metrics and logs.
  void api(const std::string& method, const std::string& suffix, Handler h);
  // A route at an exact path (service endpoints such as /healthz).
  void exact(const std::string& method, const std::string& path, std::string name, Handler h);

  struct Match {
    const Handler* handler = nullptr;  // null → 404 or 405
    std::string route = "unknown";     // metric label: the suffix or exact path
    std::string allow;                 // for 405: "GET, POST"
  };
  Match match(const std::string& method, const std::string& path) const;
  // Every (method, path) the router serves — used by the docs test.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Entry {
    std::string route;
    std::map<std::string, Handler> by_method;
  };
  std::map<std::string, Entry> paths_;
  void add(const std::string& method, const std::string& path, const std::string& route, Handler h);
};

}  // namespace amo::http
