#include "app/connections_cli.hpp"

#include <algorithm>
#include <ostream>

#include "auth/jwt.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "http/errors.hpp"
#include "util/json.hpp"

namespace amo {

using core::Error;
using core::Fault;

const char* const kConnectionsUsage =
    "  connections list [--needs-reauth] [--host HOST] [--stale-days N] [--limit N] [--json]\n"
    "                 the connections (no token is ever printed)\n"
    "  connections show USER [--json]\n"
    "                 one connection: status, account, expiry, last error, recent events\n"
    "  connections disconnect USER\n"
    "                 remove the connection, as the app's disconnect does (audited)\n"
    "  connections refresh USER\n"
    "                 refresh the tokens now, through the same single-flight path as requests\n";

namespace {

int64_t number(const std::string& option, const std::string& value, int64_t lo, int64_t hi) {
  auto n = core::parse_decimal(value, lo, hi);
  if (!n)
    throw UsageError(option + " must be a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  return *n;
}

}  // namespace

ConnectionsArgs parse_connections_args(const std::vector<std::string>& args) {
  using Action = ConnectionsArgs::Action;
  if (args.empty())
    throw UsageError("connections needs a subcommand: list, show, disconnect or refresh");
  ConnectionsArgs out;
  const std::string& sub = args[0];
  if (sub == "list")
    out.action = Action::kList;
  else if (sub == "show")
    out.action = Action::kShow;
  else if (sub == "disconnect")
    out.action = Action::kDisconnect;
  else if (sub == "refresh")
    out.action = Action::kRefresh;
  else
    throw UsageError("unknown connections subcommand (list, show, disconnect or refresh)");
  const std::string cmd = "connections " + sub;
  const bool is_list = out.action == Action::kList;
  const bool takes_json = is_list || out.action == Action::kShow;
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.empty() || a[0] != '-') {
      positional.push_back(a);
      continue;
    }
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError(cmd + ": " + a + " needs a value");
      return args[++i];
    };
    if (a == "--") {
      options_done = true;
    } else if (a == "--json" && takes_json) {
      out.json = true;
    } else if (a == "--needs-reauth" && is_list) {
      out.filter.needs_reauth_only = true;
    } else if (a == "--host" && is_list) {
      out.filter.host = core::normalize_host(value());
      if (!out.filter.host)
        throw UsageError(cmd + ": --host must be a host name such as example.amocrm.ru");
    } else if (a == "--stale-days" && is_list) {
      out.filter.stale_days = static_cast<int>(number("--stale-days", value(), 0, kStaleDaysMax));
    } else if (a == "--limit" && is_list) {
      out.limit = static_cast<int>(number("--limit", value(), 1, kListMaxLimit));
    } else {
      // Not echoed: it may be anything at all.
      throw UsageError(cmd + ": unknown option (see the usage)");
    }
  }
  if (is_list) {
    if (!positional.empty()) throw UsageError(cmd + " takes no USER (options only)");
    return out;
  }
  if (positional.size() != 1) throw UsageError(cmd + " needs exactly one USER");
  if (!auth::valid_user_id(positional[0]))
    throw UsageError(cmd + ": USER must be 1 to " + std::to_string(auth::kMaxUserIdLen) +
                     " bytes of UTF-8 without control characters");
  out.user = positional[0];
  return out;
}

namespace {

// ---- text output

// Text fit for one cell: valid UTF-8, no control characters (tabs and newlines become
// spaces), at most `max` code points ("…" marks a cut).
std::string cell(std::string_view s, size_t max) {
  std::string t = core::clean_text(s, max + 1);
  std::replace(t.begin(), t.end(), '\t', ' ');
  std::replace(t.begin(), t.end(), '\n', ' ');
  if (core::code_points(t).value_or(0) > max) t = core::clean_text(t, max - 1) + "\xE2\x80\xA6";
  return t;
}

size_t width(const std::string& s) { return core::code_points(s).value_or(s.size()); }

std::string when(const std::optional<int64_t>& t) { return t ? core::iso8601(*t) : "-"; }

const char* status_word(const oauth::Status& s) {
  if (!s.exists) return "none";
  if (!s.has_tokens) return "no_tokens";
  if (s.needs_reauth) return "needs_reauth";
  return "connected";
}

std::string account_text(const oauth::Status& s) {
  std::string a = s.account_id ? std::to_string(*s.account_id) : "-";
  if (s.account_name && !s.account_name->empty()) a += " " + *s.account_name;
  return a;
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], width(r[c]));
    }
  for (auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(widths[c] - width(r[c]) + 2, ' ');
    }
    out << line << "\n";
  }
}

// ---- JSON output

void write_connection_fields(json::Writer& w, const oauth::Status& s) {
  json::kv(w, "host", s.domain);
  json::kv(w, "accountId", s.account_id);
  json::kv(w, "accountName", s.account_name);
  json::kv(w, "status", status_word(s));
  json::kv(w, "hasTokens", s.has_tokens);
  json::kv(w, "needsReauth", s.needs_reauth);
  auto iso = [](const std::optional<int64_t>& t) {
    return t ? std::optional<std::string>(core::iso8601(*t)) : std::nullopt;
  };
  json::kv(w, "expiresAt", iso(s.expires_at));
  json::kv(w, "lastRefreshAt", iso(s.last_refresh_at));
}

void write_event(json::Writer& w, const oauth::Event& e) {
  w.StartObject();
  json::kv(w, "at", core::iso8601(e.at));
  json::kv(w, "event", e.event);
  json::kv(w, "accountId", e.account_id);
  w.Key("detail");
  // PostgreSQL's text of a jsonb value: one valid JSON document.
  w.RawValue(e.detail_json.data(), e.detail_json.size(), rapidjson::kObjectType);
  w.EndObject();
}

std::string event_line(const oauth::Event& e) {
  std::string line = core::iso8601(e.at) + "  " + cell(e.event, 32);
  if (e.account_id) line += "  account " + std::to_string(*e.account_id);
  if (e.detail_json != "{}") line += "  " + cell(e.detail_json, 200);
  return line;
}

}  // namespace

void print_list(const oauth::ListResult& result, bool json, std::ostream& out) {
  if (json) {
    out << json::write([&](json::Writer& w) {
      w.StartArray();
      for (auto& c : result.connections) {
        w.StartObject();
        json::kv(w, "user", c.user);
        write_connection_fields(w, c.status);
        w.EndObject();
      }
      w.EndArray();
    }) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"USER", "HOST", "ACCOUNT", "STATUS", "EXPIRES", "LAST REFRESH", "REAUTH"}};
  for (auto& c : result.connections)
    rows.push_back({cell(c.user, 40), cell(c.status.domain, 40), cell(account_text(c.status), 40),
                    status_word(c.status), when(c.status.expires_at),
                    when(c.status.last_refresh_at), c.status.needs_reauth ? "yes" : "no"});
  print_table(rows, out);
  size_t n = result.connections.size();
  out << n << (n == 1 ? " connection" : " connections");
  if (result.truncated) out << " shown; more match (raise --limit or narrow the filters)";
  out << "\n";
}

void print_report(const std::string& user, const oauth::Report& r, bool json, std::ostream& out) {
  const oauth::Status& s = r.status;
  if (json) {
    out << json::write([&](json::Writer& w) {
      w.StartObject();
      json::kv(w, "user", user);
      w.Key("connection");
      if (s.exists) {
        w.StartObject();
        write_connection_fields(w, s);
        w.EndObject();
      } else {
        w.Null();
      }
      w.Key("lastError");
      if (r.last_error)
        write_event(w, *r.last_error);
      else
        w.Null();
      w.Key("events");
      w.StartArray();
      for (auto& e : r.events) write_event(w, e);
      w.EndArray();
      w.EndObject();
    }) << "\n";
    return;
  }
  out << "user:          " << cell(user, 200) << "\n";
  if (s.exists) {
    out << "status:        " << status_word(s) << "\n"
        << "host:          " << cell(s.domain, 200) << "\n"
        << "account:       " << cell(account_text(s), 200) << "\n"
        << "token expires: " << when(s.expires_at) << "\n"
        << "last refresh:  " << when(s.last_refresh_at) << "\n"
        << "needs reauth:  " << (s.needs_reauth ? "yes (the user must connect again)" : "no")
        << "\n";
  } else {
    out << "status:        none (no connection)\n";
  }
  out << "last error:    " << (r.last_error ? event_line(*r.last_error) : "-") << "\n";
  out << "recent events (newest first, at most " << oauth::kShowEvents << "):\n";
  if (r.events.empty()) out << "  -\n";
  for (auto& e : r.events) out << "  " << event_line(e) << "\n";
}

int run_connections(Services& svc, const ConnectionsArgs& a, std::ostream& out, std::ostream& err) {
  using Action = ConnectionsArgs::Action;
  const std::string none = "amo-connect: no connection for " + a.user + "\n";
  try {
    switch (a.action) {
      case Action::kList: {
        auto result = oauth::list_connections(svc, a.filter, a.limit);
        print_list(result, a.json, out);
        if (result.truncated && a.json)
          err << "amo-connect: connections list: showing the first " << a.limit
              << " connections; more match (raise --limit or narrow the filters)\n";
        return 0;
      }
      case Action::kShow: {
        auto report = oauth::show_connection(svc, a.user);
        print_report(a.user, report, a.json, out);
        if (report.status.exists) return 0;
        err << none;
        return 1;
      }
      case Action::kDisconnect:
        if (!oauth::disconnect(svc, a.user, "disconnect", "cli")) {
          err << none;
          return 1;
        }
        out << "disconnected " << a.user << "\n";
        return 0;
      case Action::kRefresh:
        try {
          int64_t expires_at = oauth::force_refresh(svc, a.user, "cli");
          out << "refreshed " << a.user << ": access token expires " << core::iso8601(expires_at)
              << "\n";
          return 0;
        } catch (const oauth::RefreshRejected&) {
          err << "amo-connect: connections refresh: amoCRM rejected the refresh token of " << a.user
              << "; the connection now needs re-authorization (the user must "
              << "connect again)\n";
          return 1;
        }
    }
  } catch (const Error& e) {
    switch (e.fault()) {
      case Fault::kNotConnected:
        err << none;
        break;
      case Fault::kReauthRequired:
        err << "amo-connect: " << a.user << " needs re-authorization ("
            << (e.public_message().empty() ? "amoCRM rejected its refresh token"
                                           : e.public_message())
            << "); the user must connect again\n";
        break;
      case Fault::kDbUnavailable:
      case Fault::kDbBusy:
        err << "amo-connect: connections: database unreachable or busy (DATABASE_URL)\n";
        break;
      default: {
        const auto& info = http::info(e.fault());
        err << "amo-connect: connections: " << info.code << ": "
            << (e.public_message().empty() ? info.message : e.public_message())
            << "; the connection is unchanged\n";
      }
    }
    return 1;
  }
  return 1;
}

}  // namespace amo
