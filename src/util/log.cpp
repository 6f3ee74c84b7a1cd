#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace amo::log {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
const char* kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

thread_local std::vector<UpstreamCall> t_upstream;

void record_upstream(const char* endpoint, long status, double ms) {
  if (t_upstream.size() < 32) t_upstream.push_back(UpstreamCall{endpoint, status, ms});
}

std::vector<UpstreamCall> take_upstream() {
  std::vector<UpstreamCall> out;
  out.swap(t_upstream);
  return out;
}

void set_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool enabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

std::string now_iso_ms() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  // The seconds part changes once a second: format it once per second per thread.
  thread_local int64_t cached_s = -1;
  thread_local char cached[24];
  int64_t secs = ms / 1000;
  if (secs != cached_s) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_s = secs;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s.%03dZ", cached, static_cast<int>(ms % 1000));
  return buf;
}

void write(LogLevel level, const std::string& msg,
           const std::function<void(json::Writer&)>& fields) {
  if (!enabled(level)) return;
  std::string line = json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "time", now_iso_ms());
    json::kv(w, "level", std::string_view(kNames[static_cast<int>(level)]));
    json::kv(w, "msg", msg);
    if (fields) fields(w);
    w.EndObject();
  });
  line += '\n';
  // One write(2) per line: lines shorter than PIPE_BUF reach a pipe or journald whole,
  // without a lock shared by every worker.
  if (line.size() < 4096) {
    ssize_t ignored = ::write(2, line.data(), line.size());
    (void)ignored;
    return;
  }
  std::lock_guard<std::mutex> lk(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace amo::log
