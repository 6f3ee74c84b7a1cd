#include "http/router.hpp"

namespace amo::http {

void Router::add(const std::string& method, const std::string& path, const std::string& route,
                 Target t) {
  auto& e = paths_[path];
  e.route = route;
  e.by_method[method] = std::move(t);
}

void Router::api(const std::string& method, const std::string& suffix, Handler h,
                 ErrorRenderer on_error) {
  for (const char* prefix : kPrefixes) add(method, prefix + suffix, suffix, Target{h, on_error});
}

void Router::exact(const std::string& method, const std::string& path, std::string name,
                   Handler h) {
  add(method, path, name, Target{std::move(h), {}});
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  auto it = paths_.find(path);
  if (it == paths_.end()) return m;
  m.route = it->second.route;
  auto h = it->second.by_method.find(method);
  if (h == it->second.by_method.end() && method == "HEAD") h = it->second.by_method.find("GET");
  if (h != it->second.by_method.end()) {
    m.handler = &h->second.handler;
    if (h->second.on_error) m.on_error = &h->second.on_error;
    return m;
  }
  for (auto& [meth, _] : it->second.by_method) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += meth;
  }
  return m;
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [path, e] : paths_)
    for (auto& [meth, _] : e.by_method) out.emplace_back(meth, path);
  return out;
}

}  // namespace amo::http
