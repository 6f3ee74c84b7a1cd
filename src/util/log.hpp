#pragma once
// Structured logs: one JSON object per line on stderr (journald keeps it).
// Callers pass only safe fields: never a token, code, api key, secret or JWT.
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/json.hpp"

namespace amo::log {

void set_level(LogLevel level);
bool enabled(LogLevel level);
// Writes {"time":…,"level":…,"msg":…, <fields>} as one line.
void write(LogLevel level, const std::string& msg,
           const std::function<void(json::Writer&)>& fields = {});
inline void error(const std::string& m, const std::function<void(json::Writer&)>& f = {}) {
  write(LogLevel::kError, m, f);
}
inline void warn(const std::string& m, const std::function<void(json::Writer&)>& f = {}) {
  write(LogLevel::kWarn, m, f);
}
inline void info(const std::string& m, const std::function<void(json::Writer&)>& f = {}) {
  write(LogLevel::kInfo, m, f);
}
inline void debug(const std::string& m, const std::function<void(json::Writer&)>& f = {}) {
  write(LogLevel::kDebug, m, f);
}

// amoCRM calls made while serving the current request (this thread), for its log line.
struct UpstreamCall {
  std::string endpoint;
  long status;
  double ms;
};
void record_upstream(const char* endpoint, long status, double ms);
std::vector<UpstreamCall> take_upstream();  // returns and clears this thread's list

// Now as ISO 8601 UTC with milliseconds ("2025-01-20T10:15:00.123Z").
std::string now_iso_ms();

}  // namespace amo::log
