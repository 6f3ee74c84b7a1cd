#pragma once
// `amo-connect connections list|show|disconnect|refresh`: the argument parsing and the
// printing; what they do is oauth/admin (and oauth::disconnect). Never prints a token.
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/services.hpp"
#include "oauth/admin.hpp"

namespace amo {

inline constexpr int kListDefaultLimit = 1000;
inline constexpr int kListMaxLimit = 100000;
inline constexpr int kStaleDaysMax = 36500;

struct ConnectionsArgs {
  enum class Action { kList, kShow, kDisconnect, kRefresh };
  Action action = Action::kList;
  std::string user;               // show, disconnect, refresh: a valid user id
  bool json = false;              // list, show
  oauth::ListFilter filter;       // list
  int limit = kListDefaultLimit;  // list
};

// A usage error: one line, never the offending bytes themselves (exit status 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The usage lines of the `connections` commands (part of `amo-connect`'s usage).
extern const char* const kConnectionsUsage;

// `args`: what follows `connections` on the command line. Throws UsageError.
ConnectionsArgs parse_connections_args(const std::vector<std::string>& args);

// Runs the parsed command; returns the exit status (0 done, 1 no such connection or a
// runtime failure, with one line on `err`).
int run_connections(Services& svc, const ConnectionsArgs& args, std::ostream& out,
                    std::ostream& err);

// The outputs, as `list` and `show` print them (table/report, or JSON).
void print_list(const oauth::ListResult& result, bool json, std::ostream& out);
void print_report(const std::string& user, const oauth::Report& report, bool json,
                  std::ostream& out);

}  // namespace amo
