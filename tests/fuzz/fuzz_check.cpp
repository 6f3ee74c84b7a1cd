#include "fuzz_check.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace amo::fuzz {

int depth_of(const rapidjson::Value& root,
             const std::function<void(const rapidjson::Value&)>& visit) {
  int deepest = 0;
  std::vector<std::pair<const rapidjson::Value*, int>> todo{{&root, 0}};
  while (!todo.empty()) {
    auto [v, d] = todo.back();
    todo.pop_back();
    if (visit) visit(*v);
    if (v->IsArray()) {
      ++d;
      for (const auto& e : v->GetArray()) todo.emplace_back(&e, d);
    } else if (v->IsObject()) {
      ++d;
      for (const auto& m : v->GetObject()) todo.emplace_back(&m.value, d);
    }
    if (d > deepest) deepest = d;
  }
  return deepest;
}

void require_json(std::string_view text, rapidjson::Document& out, const char* what) {
  auto fail = json::parse(text, out, json::kUpstreamLimits);
  FUZZ_CHECK(fail == json::ParseFail::kNone, "%s is not valid JSON (%s): %.*s", what,
             json::describe(fail), static_cast<int>(std::min<size_t>(text.size(), 400)),
             text.data());
}

}  // namespace amo::fuzz
