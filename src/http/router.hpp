#pragma once
// Matches (method, path) to a handler. Handlers are plain functions of the request: the
// application binds its context when it registers them, so the router knows nothing of it.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/error_view.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace amo::http {

using Handler = std::function<Response(const Request&)>;
// A route's own rendering of its failures (e.g. an HTML page); none: the JSON envelope.
using ErrorRenderer = std::function<Response(const Request&, ErrorView)>;

// The two prefixes every API route is served under.
inline constexpr const char* kPrefixes[] = {"/api/amo-crm", "/api/v1/integrations/amo-crm"};

class Router {
 public:
  // An API route: "/status" is served at both prefixes. The suffix labels metrics and logs.
  void api(const std::string& method, const std::string& suffix, Handler h,
           ErrorRenderer on_error = {});
  // A route at an exact path (service endpoints such as /healthz).
  void exact(const std::string& method, const std::string& path, std::string name, Handler h);

  struct Match {
    const Handler* handler = nullptr;         // null → 404 or 405
    const ErrorRenderer* on_error = nullptr;  // null → the JSON envelope
    std::string route = "unknown";            // metric label: the suffix or exact path
    std::string allow;                        // for 405: "GET, POST"
  };
  Match match(const std::string& method, const std::string& path) const;
  // Every (method, path) the router serves — used by the docs test.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Target {
    Handler handler;
    ErrorRenderer on_error;
  };
  struct Entry {
    std::string route;
    std::map<std::string, Target> by_method;
  };
  std::map<std::string, Entry> paths_;
  void add(const std::string& method, const std::string& path, const std::string& route, Target t);
};

}  // namespace amo::http
