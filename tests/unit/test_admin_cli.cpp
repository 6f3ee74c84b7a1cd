// `amo-connect connections …`: argument parsing (hostile USER and option values are usage
// errors that never echo the bytes), and the list/show output (table, report, JSON).
#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/connections_cli.hpp"

using amo::ConnectionsArgs;
using amo::parse_connections_args;
using amo::UsageError;
using Action = ConnectionsArgs::Action;

namespace {

using Args = std::vector<std::string>;

// The message of the UsageError `args` raise ("" when they parse).
std::string usage_error(const Args& args) {
  try {
    parse_connections_args(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

amo::oauth::Status connected_status() {
  amo::oauth::Status s;
  s.exists = true;
  s.has_tokens = true;
  s.domain = "reforyou.amocrm.ru";
  s.account_id = 31920194;
  s.account_name = "ForYou Real Estate";
  s.expires_at = 1764633600;       // 2025-12-02T00:00:00Z
  s.last_refresh_at = 1764547200;  // 2025-12-01T00:00:00Z
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(admin_cli)

BOOST_AUTO_TEST_CASE(list_defaults) {
  auto a = parse_connections_args({"list"});
  BOOST_TEST((a.action == Action::kList));
  BOOST_TEST(!a.json);
  BOOST_TEST(a.limit == amo::kListDefaultLimit);
  BOOST_TEST(amo::kListDefaultLimit == 1000);
  BOOST_TEST(!a.filter.needs_reauth_only);
  BOOST_TEST(!a.filter.host.has_value());
  BOOST_TEST(!a.filter.stale_days.has_value());
}

BOOST_AUTO_TEST_CASE(list_options) {
  auto a = parse_connections_args({"list", "--needs-reauth", "--host", "ForYou.AmoCRM.ru",
                                   "--stale-days", "30", "--limit", "5", "--json"});
  BOOST_TEST(a.json);
  BOOST_TEST(a.filter.needs_reauth_only);
  BOOST_TEST(a.filter.host.value_or("") == "foryou.amocrm.ru");  // normalized
  BOOST_TEST(a.filter.stale_days.value_or(-1) == 30);
  BOOST_TEST(a.limit == 5);
  BOOST_TEST(parse_connections_args({"list", "--stale-days", "0"}).filter.stale_days.value_or(-1) ==
             0);
  BOOST_TEST(parse_connections_args({"list", "--limit", "100000"}).limit == 100000);
}

BOOST_AUTO_TEST_CASE(list_bad_values_are_usage_errors) {
  for (const Args& a : std::vector<Args>{
           {"list", "--host", "user@reforyou.amocrm.ru"},
           {"list", "--host", "reforyou.amocrm.ru:443"},
           {"list", "--host", "127.0.0.1"},
           {"list", "--host", "a b"},
           {"list", "--host", ""},
           {"list", "--host"},
           {"list", "--stale-days", "-1"},
           {"list", "--stale-days", "1e3"},
           {"list", "--stale-days", "36501"},
           {"list", "--stale-days", " 5"},
           {"list", "--stale-days"},
           {"list", "--limit", "0"},
           {"list", "--limit", "100001"},
           {"list", "--limit", "99999999999999999999"},
           {"list", "--limit", "ten"},
           {"list", "someone"},
           {"list", "--nope"},
       }) {
    std::string what;
    for (auto& w : a) what += w + " ";
    BOOST_TEST_CONTEXT(what) { BOOST_TEST(!usage_error(a).empty()); }
  }
  BOOST_TEST(usage_error({"list", "--limit", "0"}).find("--limit") != std::string::npos);
  BOOST_TEST(usage_error({"list", "--host", "a b"}).find("--host") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(user_commands) {
  auto s = parse_connections_args({"show", "agent-7"});
  BOOST_TEST((s.action == Action::kShow));
  BOOST_TEST(s.user == "agent-7");
  BOOST_TEST(!s.json);
  BOOST_TEST(parse_connections_args({"show", "--json", "agent-7"}).json);
  BOOST_TEST(parse_connections_args({"show", "agent-7", "--json"}).json);
  auto d = parse_connections_args({"disconnect", "agent-7"});
  BOOST_TEST((d.action == Action::kDisconnect));
  BOOST_TEST(d.user == "agent-7");
  auto r = parse_connections_args({"refresh", "42"});
  BOOST_TEST((r.action == Action::kRefresh));
  BOOST_TEST(r.user == "42");
  // UTF-8 user ids are ids like any other; `--` lets one begin with '-'.
  BOOST_TEST(parse_connections_args({"show", "агент-1"}).user == "агент-1");
  BOOST_TEST(parse_connections_args({"show", "--", "-odd"}).user == "-odd");
  BOOST_TEST(parse_connections_args({"show", std::string(128, 'u')}).user.size() == 128u);
}

BOOST_AUTO_TEST_CASE(user_command_usage_errors) {
  for (const Args& a : std::vector<Args>{
           {},
           {"lst"},
           {"show"},
           {"show", "a", "b"},
           {"disconnect"},
           {"refresh"},
           {"disconnect", "--json", "a"},  // only list and show print JSON
           {"refresh", "--limit", "3", "a"},
           {"show", "--needs-reauth", "a"},
           {"show", "-odd"},
       }) {
    BOOST_TEST_CONTEXT(a.size()) { BOOST_TEST(!usage_error(a).empty()); }
  }
}

BOOST_AUTO_TEST_CASE(hostile_users_are_refused_without_echo) {
  const std::vector<std::string> hostile = {
      "",
      std::string(129, 'u'),
      "\xC3\x28",      // a lead byte without its continuation
      "\xC0\xAF",      // an overlong '/'
      "\xED\xA0\x80",  // a lone surrogate
      "a\nb",          // a newline (a forged output line)
      "\x1b[31mred",   // a terminal escape
      std::string("a\0b", 3),
      "tab\there",
      "del\x7f",
  };
  for (auto& u : hostile) {
    for (const char* cmd : {"show", "disconnect", "refresh"}) {
      BOOST_TEST_CONTEXT(cmd << " #" << u.size()) {
        std::string msg = usage_error({cmd, u});
        BOOST_TEST(msg.find("USER must be 1 to 128 bytes of UTF-8") != std::string::npos, msg);
        if (!u.empty()) BOOST_TEST(msg.find(u) == std::string::npos);
      }
    }
  }
  // An unknown option is not echoed either.
  BOOST_TEST(usage_error({"list", "--\x1b[2J"}).find("\x1b") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_table) {
  amo::oauth::ListResult r;
  auto reauth = connected_status();
  reauth.needs_reauth = true;
  reauth.account_name = "Evil\x1b[2J\nName";  // printed without its control bytes
  reauth.last_refresh_at.reset();
  r.connections = {{"agent-1", connected_status()}, {"agent-2", reauth}};
  std::ostringstream out;
  amo::print_list(r, false, out);
  std::string text = out.str();
  BOOST_TEST_MESSAGE(text);
  std::istringstream lines(text);
  std::string header, row1, row2, footer;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  std::getline(lines, footer);
  BOOST_TEST(header.rfind("USER", 0) == 0u);
  for (auto col : {"HOST", "ACCOUNT", "STATUS", "EXPIRES", "LAST REFRESH", "REAUTH"})
    BOOST_TEST(header.find(col) != std::string::npos, col);
  BOOST_TEST(row1.rfind("agent-1 ", 0) == 0u);
  BOOST_TEST(row1.find("reforyou.amocrm.ru") != std::string::npos);
  BOOST_TEST(row1.find("31920194 ForYou Real Estate") != std::string::npos);
  BOOST_TEST(row1.find(" connected ") != std::string::npos);
  BOOST_TEST(row1.find("2025-12-02T00:00:00Z") != std::string::npos);
  BOOST_TEST(row1.find("2025-12-01T00:00:00Z") != std::string::npos);
  BOOST_TEST(row1.substr(row1.size() - 3) == " no");
  BOOST_TEST(row2.find("needs_reauth") != std::string::npos);
  BOOST_TEST(row2.find("Evil[2J Name") != std::string::npos);  // ESC dropped, newline a space
  BOOST_TEST(row2.substr(row2.size() - 4) == " yes");
  BOOST_TEST(text.find('\x1b') == std::string::npos);
  // Columns line up: the status column starts at the same place in every line.
  BOOST_TEST(header.find("STATUS") == row1.find("connected"));
  BOOST_TEST(footer == "2 connections");
  r.truncated = true;
  std::ostringstream more;
  amo::print_list(r, false, more);
  BOOST_TEST(more.str().find("2 connections shown; more match (raise --limit") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_json) {
  amo::oauth::ListResult r;
  auto never = connected_status();
  never.has_tokens = false;
  never.account_id.reset();
  never.account_name.reset();
  never.expires_at.reset();
  never.last_refresh_at.reset();
  r.connections = {{"agent-1", connected_status()}, {"agent-\xC3\x28", never}};
  std::ostringstream out;
  amo::print_list(r, true, out);
  rapidjson::Document d;
  d.Parse(out.str().c_str());
  BOOST_REQUIRE(!d.HasParseError());
  BOOST_REQUIRE(d.IsArray());
  BOOST_REQUIRE(d.Size() == 2u);
  auto& a = d[0];
  BOOST_TEST(std::string(a["user"].GetString()) == "agent-1");
  BOOST_TEST(std::string(a["host"].GetString()) == "reforyou.amocrm.ru");
  BOOST_TEST(a["accountId"].GetInt64() == 31920194);
  BOOST_TEST(std::string(a["accountName"].GetString()) == "ForYou Real Estate");
  BOOST_TEST(std::string(a["status"].GetString()) == "connected");
  BOOST_TEST(a["hasTokens"].IsTrue());
  BOOST_TEST(a["needsReauth"].IsFalse());
  BOOST_TEST(std::string(a["expiresAt"].GetString()) == "2025-12-02T00:00:00Z");
  BOOST_TEST(std::string(a["lastRefreshAt"].GetString()) == "2025-12-01T00:00:00Z");
  auto& b = d[1];
  BOOST_TEST(std::string(b["user"].GetString()) == "agent-\xEF\xBF\xBD(");  // valid JSON text
  BOOST_TEST(std::string(b["status"].GetString()) == "no_tokens");
  BOOST_TEST(b["accountId"].IsNull());
  BOOST_TEST(b["expiresAt"].IsNull());
  BOOST_TEST(b["lastRefreshAt"].IsNull());
  // Truncation never breaks the array (the note goes to stderr).
  r.truncated = true;
  std::ostringstream more;
  amo::print_list(r, true, more);
  BOOST_TEST(more.str() == out.str());
}

BOOST_AUTO_TEST_CASE(show_report) {
  amo::oauth::Report rep;
  rep.status = connected_status();
  rep.last_error = amo::oauth::Event{1764500000, "reauth_required", 31920194,
                                     R"({"hint": "Token has been revoked", "status": 401})"};
  rep.events = {{1764547200, "connect", 31920194, R"({"host": "reforyou.amocrm.ru"})"},
                {1764540000, "disconnect", std::nullopt, "{}"}};
  std::ostringstream out;
  amo::print_report("agent-1", rep, false, out);
  std::string t = out.str();
  BOOST_TEST_MESSAGE(t);
  BOOST_TEST(t.find("user:          agent-1\n") != std::string::npos);
  BOOST_TEST(t.find("status:        connected\n") != std::string::npos);
  BOOST_TEST(t.find("account:       31920194 ForYou Real Estate\n") != std::string::npos);
  BOOST_TEST(t.find("token expires: 2025-12-02T00:00:00Z\n") != std::string::npos);
  BOOST_TEST(t.find("last refresh:  2025-12-01T00:00:00Z\n") != std::string::npos);
  BOOST_TEST(t.find("last error:    2025-11-30T10:53:20Z  reauth_required  account 31920194  "
                    "{\"hint\": \"Token has been revoked\", \"status\": 401}\n") !=
             std::string::npos);
  BOOST_TEST(t.find("  2025-12-01T00:00:00Z  connect  account 31920194  ") != std::string::npos);
  BOOST_TEST(t.find("  2025-11-30T22:00:00Z  disconnect\n") != std::string::npos);

  std::ostringstream js;
  amo::print_report("agent-1", rep, true, js);
  rapidjson::Document d;
  d.Parse(js.str().c_str());
  BOOST_REQUIRE(!d.HasParseError());
  BOOST_TEST(std::string(d["user"].GetString()) == "agent-1");
  BOOST_TEST(std::string(d["connection"]["status"].GetString()) == "connected");
  BOOST_TEST(d["connection"]["accountId"].GetInt64() == 31920194);
  BOOST_TEST(std::string(d["lastError"]["event"].GetString()) == "reauth_required");
  BOOST_TEST(d["lastError"]["detail"]["status"].GetInt() == 401);
  BOOST_REQUIRE(d["events"].IsArray());
  BOOST_TEST(d["events"].Size() == 2u);
  BOOST_TEST(std::string(d["events"][0]["at"].GetString()) == "2025-12-01T00:00:00Z");
  BOOST_TEST(d["events"][1]["accountId"].IsNull());
  BOOST_TEST(d["events"][1]["detail"].IsObject());

  amo::oauth::Report none;
  std::ostringstream no;
  amo::print_report("ghost", none, false, no);
  BOOST_TEST(no.str().find("status:        none (no connection)\n") != std::string::npos);
  BOOST_TEST(no.str().find("last error:    -\n") != std::string::npos);
  std::ostringstream nj;
  amo::print_report("ghost", none, true, nj);
  d.Parse(nj.str().c_str());
  BOOST_REQUIRE(!d.HasParseError());
  BOOST_TEST(d["connection"].IsNull());
  BOOST_TEST(d["lastError"].IsNull());
  BOOST_TEST(d["events"].Size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
