// docs/openapi.yaml documents every route the router serves (SPEC §4): the mobile
// developers read that file, so a route added without its documentation fails here.
#include <boost/test/unit_test.hpp>

#include "support/app_fixture.hpp"
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "app/app.hpp"
#include "http/router.hpp"

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t indent_of(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// path → documented methods, from the `paths:` section of an OpenAPI YAML document:
// a path is a key at indent 2 ("  /api/amo-crm/status:"), an operation a key at indent 4
// below it ("    get:"). Enough YAML for the document we write ourselves.
std::map<std::string, std::set<std::string>> documented_operations(const std::string& yaml) {
  static const std::set<std::string> kMethods = {"get",  "put",     "post",  "delete",
                                                 "head", "options", "patch", "trace"};
  std::map<std::string, std::set<std::string>> out;
  std::istringstream in(yaml);
  std::string line, current;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    size_t ind = indent_of(line);
    if (ind == 0) {
      in_paths = line == "paths:";
      current.clear();
      continue;
    }
    if (!in_paths) continue;
    std::string key = line.substr(ind);
    auto colon = key.find(':');
    if (colon == std::string::npos) continue;
    key = key.substr(0, colon);
    if (key.size() >= 2 && (key.front() == '\'' || key.front() == '"') && key.back() == key.front())
      key = key.substr(1, key.size() - 2);
    if (ind == 2 && !key.empty() && key.front() == '/') {
      current = key;
      out[current];
    } else if (ind == 2) {
      current.clear();
    } else if (ind == 4 && !current.empty() && kMethods.count(key)) {
      out[current].insert(key);
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The document lists each API endpoint once, under the first prefix, and says that the
// second prefix serves the same endpoints.
std::string documented_path(const std::string& path) {
  const std::string alias = std::string(amo::http::kPrefixes[1]) + "/";
  if (path.rfind(alias, 0) == 0)
    return std::string(amo::http::kPrefixes[0]) + "/" + path.substr(alias.size());
  return path;
}

const std::string kOpenApi = AMO_SOURCE_DIR "/docs/openapi.yaml";

}  // namespace

BOOST_AUTO_TEST_SUITE(docs)

BOOST_AUTO_TEST_CASE(openapi_parser_reads_paths_and_methods) {
  auto ops = documented_operations(
      "openapi: 3.0.3\n"
      "paths:\n"
      "  /a:\n"
      "    get:\n"
      "      responses:\n"
      "        '200': {description: ok}\n"
      "    post:\n"
      "      summary: x\n"
      "  '/b':\n"
      "    # comment\n"
      "    delete:\n"
      "components:\n"
      "  /c:\n"
      "    get:\n");
  BOOST_TEST(ops.size() == 2u);
  BOOST_TEST((ops["/a"] == std::set<std::string>{"get", "post"}));
  BOOST_TEST((ops["/b"] == std::set<std::string>{"delete"}));
  BOOST_TEST(ops.count("/c") == 0u);
}

BOOST_AUTO_TEST_CASE(every_route_is_documented) {
  amo::test::AppFixture f;
  auto routes = f.app.router().routes();
  BOOST_REQUIRE(!routes.empty());
  auto ops = documented_operations(read_text(kOpenApi));
  BOOST_REQUIRE_MESSAGE(!ops.empty(), kOpenApi << " has no paths");
  for (auto& [method, path] : routes) {
    std::string doc = documented_path(path);
    auto it = ops.find(doc);
    bool found = it != ops.end();
    BOOST_TEST(found, method << " " << path << ": path " << doc << " is not in docs/openapi.yaml");
    if (found)
      BOOST_TEST(it->second.count(lower(method)) == 1u, method << " " << path << ": no `"
                                                               << lower(method) << ":` under "
                                                               << doc << " in docs/openapi.yaml");
  }
}

BOOST_AUTO_TEST_CASE(openapi_names_the_second_prefix) {
  // Only the first prefix is listed; the document must tell readers about the second.
  std::string yaml = read_text(kOpenApi);
  BOOST_TEST(yaml.find(std::string(amo::http::kPrefixes[1]) + "/") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(documented_api_paths_use_a_known_prefix) {
  // A typo such as "/api/amocrm/leads" would document an endpoint nobody serves.
  auto ops = documented_operations(read_text(kOpenApi));
  for (auto& [path, methods] : ops) {
    bool service = path == "/healthz" || path == "/readyz" || path == "/metrics";
    bool api = path.rfind(std::string(amo::http::kPrefixes[0]) + "/", 0) == 0;
    BOOST_TEST((service || api), "unexpected documented path " << path);
    BOOST_TEST(!methods.empty(), "documented path " << path << " has no operation");
  }
}

BOOST_AUTO_TEST_SUITE_END()
