// The documents are the contract, so they are checked against the code and each other:
// - docs/openapi.yaml documents every route the router serves, and the router serves every
//   documented operation (under both prefixes);
// - docs/API.md (the prose) and docs/openapi.yaml list the same operations, the same
//   statuses per operation and the same error codes, and every code the service can send
//   (the http/errors table) is among them;
// - nothing in README.md or docs/ points outside the repository, and their relative links
//   name files that exist.
// The live check of the answers themselves is the `contract` label (tests/contract).
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "app/connections_cli.hpp"
#include "http/errors.hpp"
#include "http/router.hpp"
#include "support/app_fixture.hpp"

namespace {

namespace fs = std::filesystem;

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

std::string unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Enough YAML for the document we write ourselves (block style, one key per line): every
// key line and every list item, with the keys above it. Block scalars (`key: |`) are
// skipped whole, so prose never reads as keys.
struct YamlEntry {
  std::vector<std::string> path;  // the keys above, then (for a key line) the key itself
  std::string value;              // the rest of the line; for a list item, the item
  bool item = false;
};

std::vector<YamlEntry> yaml_entries(const std::string& yaml) {
  std::vector<YamlEntry> out;
  std::vector<std::pair<size_t, std::string>> stack;
  std::istringstream in(yaml);
  std::string line;
  size_t block_indent = std::string::npos;  // inside a block scalar deeper than this
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    size_t ind = indent_of(line);
    if (block_indent != std::string::npos) {
      if (ind > block_indent) continue;
      block_indent = std::string::npos;
    }
    if (line[first] == '#') continue;
    while (!stack.empty() && stack.back().first >= ind) stack.pop_back();
    std::vector<std::string> parents;
    for (auto& s : stack) parents.push_back(s.second);
    std::string text = line.substr(ind);
    if (text.rfind("- ", 0) == 0 || text == "-") {
      out.push_back({parents, unquote(trim(text.substr(1))), true});
      continue;
    }
    size_t colon = text.rfind(':', 0) == 0 ? std::string::npos : text.find(": ");
    if (colon == std::string::npos && !text.empty() && text.back() == ':') colon = text.size() - 1;
    if (colon == std::string::npos) continue;
    std::string key = unquote(trim(text.substr(0, colon)));
    std::string value = trim(text.substr(colon + 1));
    parents.push_back(key);
    out.push_back({parents, value, false});
    stack.emplace_back(ind, key);
    if (value == "|" || value == "|-" || value == ">" || value == ">-") block_indent = ind;
  }
  return out;
}

const std::set<std::string> kMethods = {"get",  "put",     "post",  "delete",
                                        "head", "options", "patch", "trace"};

// path → documented methods (lower case), from `paths:`.
std::map<std::string, std::set<std::string>> documented_operations(const std::string& yaml) {
  std::map<std::string, std::set<std::string>> out;
  for (auto& e : yaml_entries(yaml)) {
    if (e.item || e.path.empty() || e.path[0] != "paths") continue;
    if (e.path.size() == 2 && !e.path[1].empty() && e.path[1][0] == '/') out[e.path[1]];
    if (e.path.size() == 3 && kMethods.count(e.path[2])) out[e.path[1]].insert(e.path[2]);
  }
  return out;
}

// "GET /path" → its documented statuses.
std::map<std::string, std::set<std::string>> documented_statuses(const std::string& yaml) {
  std::map<std::string, std::set<std::string>> out;
  for (auto& e : yaml_entries(yaml)) {
    if (e.item || e.path.size() != 5 || e.path[0] != "paths" || e.path[3] != "responses") continue;
    std::string method = e.path[2];
    for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out[method + " " + e.path[1]].insert(e.path[4]);
  }
  return out;
}

// The enum of components.schemas.ErrorCode.
std::set<std::string> documented_codes(const std::string& yaml) {
  std::set<std::string> out;
  const std::vector<std::string> where = {"components", "schemas", "ErrorCode", "enum"};
  for (auto& e : yaml_entries(yaml))
    if (e.item && e.path == where) out.insert(e.value);
  return out;
}

// docs/API.md: "### GET /path" sections and the `| 200 | …` rows of their tables.
std::map<std::string, std::set<std::string>> prose_statuses(const std::string& md) {
  static const std::regex heading(R"(^### (GET|POST|PUT|DELETE|PATCH) (/\S*)\s*$)");
  static const std::regex row(R"(^\| (\d{3}) \|)");
  std::map<std::string, std::set<std::string>> out;
  std::istringstream in(md);
  std::string line, current;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, heading)) {
      current = m[1].str() + " " + m[2].str();
      out[current];
    } else if (!line.empty() && line[0] == '#') {
      current.clear();
    } else if (!current.empty() && std::regex_search(line, m, row)) {
      out[current].insert(m[1].str());
    }
  }
  return out;
}

// docs/API.md: the codes of the table under the "## … Error codes" heading.
std::set<std::string> prose_codes(const std::string& md) {
  static const std::regex row(R"(^\| `([a-z_]+)` \| [0-9, ]+ \|)");
  std::set<std::string> out;
  std::istringstream in(md);
  std::string line;
  bool in_section = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line.find("Error codes") != std::string::npos;
    if (in_section && std::regex_search(line, m, row)) out.insert(m[1].str());
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
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

template <class Set>
std::string join(const Set& s) {
  std::string out;
  for (auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "(none)" : out;
}

const std::string kOpenApi = AMO_SOURCE_DIR "/docs/openapi.yaml";
const std::string kApiMd = AMO_SOURCE_DIR "/docs/API.md";

}  // namespace

BOOST_AUTO_TEST_SUITE(docs)

BOOST_AUTO_TEST_CASE(yaml_reader_reads_paths_methods_statuses_and_lists) {
  const std::string yaml =
      "openapi: 3.0.3\n"
      "info:\n"
      "  description: |\n"
      "    paths: not a key\n"
      "      /x:\n"
      "paths:\n"
      "  /a:\n"
      "    get:\n"
      "      description: |\n"
      "        responses:\n"
      "          '999': prose\n"
      "      responses:\n"
      "        '200': {description: ok}\n"
      "        '404':\n"
      "          description: no\n"
      "    post:\n"
      "      summary: 'x: y'\n"
      "  '/b':\n"
      "    # comment\n"
      "    delete:\n"
      "components:\n"
      "  /c:\n"
      "    get:\n"
      "  schemas:\n"
      "    ErrorCode:\n"
      "      enum:\n"
      "        - one\n"
      "        - 'two'\n";
  auto ops = documented_operations(yaml);
  BOOST_TEST(ops.size() == 2u);
  BOOST_TEST((ops["/a"] == std::set<std::string>{"get", "post"}));
  BOOST_TEST((ops["/b"] == std::set<std::string>{"delete"}));
  BOOST_TEST(ops.count("/c") == 0u);
  auto st = documented_statuses(yaml);
  BOOST_TEST(st.size() == 1u);
  BOOST_TEST((st["GET /a"] == std::set<std::string>{"200", "404"}));
  BOOST_TEST((documented_codes(yaml) == std::set<std::string>{"one", "two"}));
}

BOOST_AUTO_TEST_CASE(prose_reader_reads_endpoints_statuses_and_codes) {
  const std::string md =
      "# API\n"
      "### GET /api/x\n"
      "| status | codes | when |\n"
      "|---|---|---|\n"
      "| 200 | | ok |\n"
      "| 409 | `a` | no |\n"
      "### Not an endpoint\n"
      "| 500 | | ignored |\n"
      "### POST /api/y\n"
      "| 202 | | ok |\n"
      "## 4. Error codes\n"
      "| code | status | meaning |\n"
      "| `not_found` | 404 | no |\n"
      "| `exchange_failed` | 502, 503 | x |\n"
      "## 5. Other\n"
      "| `ignored` | 400 | x |\n";
  auto st = prose_statuses(md);
  BOOST_TEST(st.size() == 2u);
  BOOST_TEST((st["GET /api/x"] == std::set<std::string>{"200", "409"}));
  BOOST_TEST((st["POST /api/y"] == std::set<std::string>{"202"}));
  BOOST_TEST((prose_codes(md) == std::set<std::string>{"not_found", "exchange_failed"}));
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

BOOST_AUTO_TEST_CASE(every_documented_operation_is_served) {
  amo::test::AppFixture f;
  const amo::http::Router& router = f.app.router();
  auto ops = documented_operations(read_text(kOpenApi));
  BOOST_REQUIRE(!ops.empty());
  const std::string first = std::string(amo::http::kPrefixes[0]) + "/";
  size_t checked = 0;
  for (auto& [path, methods] : ops) {
    std::vector<std::string> served_at = {path};
    if (path.rfind(first, 0) == 0)
      served_at.push_back(std::string(amo::http::kPrefixes[1]) + "/" + path.substr(first.size()));
    for (auto& m : methods) {
      for (auto& p : served_at) {
        auto match = router.match(upper(m), p);
        BOOST_TEST((match.handler != nullptr), upper(m)
                                                   << " " << p << " is documented in "
                                                   << "docs/openapi.yaml but not served ("
                                                   << (match.allow.empty() ? "404" : "405") << ")");
        ++checked;
      }
    }
  }
  BOOST_TEST(checked >= 20u);
}

BOOST_AUTO_TEST_CASE(api_md_and_openapi_list_the_same_operations_and_statuses) {
  auto yaml = documented_statuses(read_text(kOpenApi));
  auto prose = prose_statuses(read_text(kApiMd));
  BOOST_REQUIRE(!yaml.empty());
  BOOST_REQUIRE(!prose.empty());
  for (auto& [op, statuses] : yaml) {
    auto it = prose.find(op);
    BOOST_TEST((it != prose.end()), op << " is in docs/openapi.yaml but has no `### " << op
                                       << "` section in docs/API.md");
    if (it != prose.end())
      BOOST_TEST((it->second == statuses), op << ": docs/openapi.yaml has statuses "
                                              << join(statuses) << ", docs/API.md "
                                              << join(it->second));
  }
  for (auto& [op, statuses] : prose)
    BOOST_TEST(yaml.count(op) == 1u, op << " is in docs/API.md but not in docs/openapi.yaml");
}

BOOST_AUTO_TEST_CASE(api_md_and_openapi_list_the_same_error_codes) {
  auto yaml = documented_codes(read_text(kOpenApi));
  auto prose = prose_codes(read_text(kApiMd));
  BOOST_REQUIRE(yaml.size() >= 20u);
  for (auto& c : yaml)
    BOOST_TEST(prose.count(c) == 1u, c << " is in ErrorCode of docs/openapi.yaml but not in the "
                                       << "error code table of docs/API.md");
  for (auto& c : prose)
    BOOST_TEST(yaml.count(c) == 1u, c << " is in the error code table of docs/API.md but not in "
                                      << "ErrorCode of docs/openapi.yaml");
}

BOOST_AUTO_TEST_CASE(every_error_the_service_sends_is_documented) {
  auto yaml = documented_codes(read_text(kOpenApi));
  using amo::core::Fault;
  for (int i = 0; i <= static_cast<int>(Fault::kInternal); ++i) {
    const auto& e = amo::http::info(static_cast<Fault>(i));
    BOOST_TEST(yaml.count(e.code) == 1u,
               e.code << " (" << e.status << ") is not in ErrorCode of docs/openapi.yaml");
  }
}

BOOST_AUTO_TEST_CASE(openapi_names_the_second_prefix) {
  // Only the first prefix is listed; the documents must tell readers about the second.
  for (auto& doc : {kOpenApi, kApiMd})
    BOOST_TEST(read_text(doc).find(std::string(amo::http::kPrefixes[1]) + "/") != std::string::npos,
               doc << " does not name " << amo::http::kPrefixes[1]);
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

BOOST_AUTO_TEST_CASE(cli_md_documents_the_connections_commands) {
  // Every subcommand and option of the `connections` usage text is in docs/CLI.md (as
  // `connections <sub>` and `--option`), and CLI.md names no option the usage lacks.
  const std::string usage = amo::kConnectionsUsage;
  const std::string md = read_text(AMO_SOURCE_DIR "/docs/CLI.md");
  static const std::regex sub(R"(connections ([a-z]+))");
  static const std::regex option(R"(--[a-z][a-z-]*)");
  std::set<std::string> subs, options, md_options;
  for (std::sregex_iterator it(usage.begin(), usage.end(), sub), end; it != end; ++it)
    subs.insert((*it)[1].str());
  for (std::sregex_iterator it(usage.begin(), usage.end(), option), end; it != end; ++it)
    options.insert(it->str());
  BOOST_TEST((subs == std::set<std::string>{"list", "show", "disconnect", "refresh"}));
  BOOST_TEST(options.size() >= 5u);
  for (auto& s : subs)
    BOOST_TEST(md.find("connections " + s) != std::string::npos,
               "docs/CLI.md does not document `connections " << s << "`");
  for (auto& o : options)
    BOOST_TEST(md.find("`" + o) != std::string::npos, "docs/CLI.md does not document " << o);
  // The options CLI.md shows in its `connections` section are ones the usage has.
  auto from = md.find("## Connections");
  BOOST_REQUIRE_MESSAGE(from != std::string::npos, "docs/CLI.md has no `## Connections` section");
  auto to = md.find("\n## ", from + 1);
  std::string section = md.substr(from, to == std::string::npos ? std::string::npos : to - from);
  for (std::sregex_iterator it(section.begin(), section.end(), option), end; it != end; ++it)
    md_options.insert(it->str());
  for (auto& o : md_options)
    BOOST_TEST(options.count(o) == 1u,
               "docs/CLI.md documents " << o << ", which `connections` does not take");
}

BOOST_AUTO_TEST_CASE(docs_stand_alone) {
  // The repository is self-contained: no document points outside it, and every relative
  // link of README.md and docs/*.md names a file that exists.
  std::vector<fs::path> docs = {fs::path(AMO_SOURCE_DIR) / "README.md"};
  for (auto& f : fs::directory_iterator(fs::path(AMO_SOURCE_DIR) / "docs"))
    docs.push_back(f.path());
  static const std::regex link(R"(\]\(([^)\s#]+)(#[^)]*)?\))");
  size_t links = 0;
  for (auto& doc : docs) {
    std::string text = read_text(doc.string());
    // The workbench beside the repository, spelled in two pieces so this check is not a hit
    // of its own.
    static const std::string outside = std::string("../") + "shared";
    BOOST_TEST(text.find(outside) == std::string::npos, doc << " points outside the repository");
    BOOST_TEST(text.find("SPEC \xC2\xA7") == std::string::npos, doc << " cites the SPEC");
    BOOST_TEST(text.find("SPEC.md") == std::string::npos, doc << " cites SPEC.md");
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
      std::string target = (*it)[1].str();
      if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
      ++links;
      BOOST_TEST(fs::exists(doc.parent_path() / target),
                 doc.filename() << " links to " << target << ", which does not exist");
    }
  }
  BOOST_TEST(links >= 10u);
}

BOOST_AUTO_TEST_SUITE_END()
