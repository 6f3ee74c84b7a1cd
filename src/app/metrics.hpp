#pragma once
// Process metrics in Prometheus text format (counters and histograms, label sets as keys).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace amo {

class Metrics {
 public:
  void request(const std::string& route, const std::string& method, int status, double seconds);
  void amo_call(const std::string& endpoint, int status, double seconds);  // status 0: no answer
  void refresh(const std::string& outcome);  // ok, rejected, transient, waited
  // The leads store: how one leads/pipelines request was answered — hit (a fresh stored
  // answer), miss (this request called amoCRM), stale (amoCRM failed; a stored answer
  // served), coalesced (waited for an identical request's amoCRM call instead of making
  // one) — and entries evicted (cap, global_cap, max_age).
  void store_request(const std::string& kind, const std::string& outcome);
  void store_evicted(const std::string& reason, uint64_t n);
  // amoCRM's disconnect hook per connection: removed, or ignored (its tokens still work).
  void hook(const std::string& outcome);
  // Requests being handled right now (the scrape itself included).
  void begin_request() { in_flight_.fetch_add(1); }
  void end_request() { in_flight_.fetch_sub(1); }
  // Renders everything; `extra` appends gauges known elsewhere (pool, in-flight).
  std::string render(const std::function<void(std::string&)>& extra = {}) const;
  // Appends the "# HELP" and "# TYPE" lines of one metric family.
  static void family(std::string& out, const char* name, const char* type, const char* help);

 private:
  static constexpr std::array<double, 12> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,   0.25,   0.5,   1,    2.5,   10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void observe(double v);
  };
  std::atomic<int64_t> in_flight_{0};
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::pair<std::string, int>, uint64_t> amo_calls_;
  std::map<std::string, Histogram> amo_latency_;
  // Every outcome is exported from the start, so rate() sees the first one.
  std::map<std::string, uint64_t> hooks_{{"removed", 0}, {"ignored", 0}};
  std::map<std::string, uint64_t> refreshes_{
      {"ok", 0}, {"rejected", 0}, {"transient", 0}, {"waited", 0}};
  std::map<std::pair<std::string, std::string>, uint64_t> store_requests_{
      {{"leads", "hit"}, 0},       {{"leads", "miss"}, 0},         {{"leads", "stale"}, 0},
      {{"leads", "coalesced"}, 0}, {{"pipelines", "hit"}, 0},      {{"pipelines", "miss"}, 0},
      {{"pipelines", "stale"}, 0}, {{"pipelines", "coalesced"}, 0}};
  std::map<std::string, uint64_t> store_evictions_{{"cap", 0}, {"global_cap", 0}, {"max_age", 0}};
  static void histogram(std::string& out, const char* name, const std::string& label,
                        const std::string& value, const Histogram& h);
};

}  // namespace amo
