#include "app/metrics.hpp"

#include <cstdio>

namespace amo {

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Metrics::Histogram::observe(double v) {
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (v <= kBuckets[i]) ++counts[i];
  ++count;
  sum += v;
}

void Metrics::request(const std::string& route, const std::string& method, int status,
                      double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ++requests_[{route, method, status}];
  latency_[route].observe(seconds);
}

void Metrics::amo_call(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ++amo_calls_[{endpoint, status}];
  amo_latency_[endpoint].observe(seconds);
}

void Metrics::refresh(const std::string& outcome) {
  std::lock_guard<std::mutex> lk(mu_);
  ++refreshes_[outcome];
}

void Metrics::store_request(const std::string& kind, const std::string& outcome) {
  std::lock_guard<std::mutex> lk(mu_);
  ++store_requests_[{kind, outcome}];
}

void Metrics::store_evicted(const std::string& reason, uint64_t n) {
  if (n == 0) return;
  std::lock_guard<std::mutex> lk(mu_);
  store_evictions_[reason] += n;
}

void Metrics::hook(const std::string& outcome) {
  std::lock_guard<std::mutex> lk(mu_);
  ++hooks_[outcome];
}

void Metrics::family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Metrics::histogram(std::string& out, const char* name, const std::string& label,
                        const std::string& value, const Histogram& h) {
  std::string l = label + "=\"" + value + "\"";
  for (size_t i = 0; i < kBuckets.size(); ++i)
    out += std::string(name) + "_bucket{" + l + ",le=\"" + num(kBuckets[i]) + "\"} " +
           std::to_string(h.counts[i]) + "\n";
  out += std::string(name) + "_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  out += std::string(name) + "_sum{" + l + "} " + num(h.sum) + "\n";
  out += std::string(name) + "_count{" + l + "} " + std::to_string(h.count) + "\n";
}

std::string Metrics::render(const std::function<void(std::string&)>& extra) const {
  std::string out;
  out.reserve(8192);
  family(out, "amo_build_info", "gauge", "Build information.");
  out += "amo_build_info{version=\"" AMO_VERSION "\"} 1\n";
  family(out, "amo_http_requests_in_flight", "gauge", "Requests being handled now.");
  out += "amo_http_requests_in_flight " + std::to_string(in_flight_.load()) + "\n";
  std::lock_guard<std::mutex> lk(mu_);
  family(out, "amo_http_requests_total", "counter", "HTTP requests by route, method and status.");
  for (auto& [k, v] : requests_)
    out += "amo_http_requests_total{route=\"" + std::get<0>(k) + "\",method=\"" + std::get<1>(k) +
           "\",status=\"" + std::to_string(std::get<2>(k)) + "\"} " + std::to_string(v) + "\n";
  family(out, "amo_http_request_duration_seconds", "histogram", "Request latency by route.");
  for (auto& [route, h] : latency_)
    histogram(out, "amo_http_request_duration_seconds", "route", route, h);
  family(out, "amo_upstream_requests_total", "counter",
         "amoCRM calls by endpoint and status (0: no answer).");
  for (auto& [k, v] : amo_calls_)
    out += "amo_upstream_requests_total{endpoint=\"" + k.first + "\",status=\"" +
           std::to_string(k.second) + "\"} " + std::to_string(v) + "\n";
  family(out, "amo_upstream_request_duration_seconds", "histogram",
         "amoCRM call latency by endpoint.");
  for (auto& [ep, h] : amo_latency_)
    histogram(out, "amo_upstream_request_duration_seconds", "endpoint", ep, h);
  family(out, "amo_token_refreshes_total", "counter", "Token refreshes by outcome.");
  for (auto& [k, v] : refreshes_)
    out += "amo_token_refreshes_total{outcome=\"" + k + "\"} " + std::to_string(v) + "\n";
  family(out, "amo_leads_store_requests_total", "counter",
         "Leads/pipelines requests by how the store answered (hit, miss, stale, coalesced).");
  for (auto& [k, v] : store_requests_)
    out += "amo_leads_store_requests_total{kind=\"" + k.first + "\",outcome=\"" + k.second +
           "\"} " + std::to_string(v) + "\n";
  family(out, "amo_leads_store_evictions_total", "counter",
         "Stored answers removed by this process (cap, global_cap, max_age).");
  for (auto& [k, v] : store_evictions_)
    out += "amo_leads_store_evictions_total{reason=\"" + k + "\"} " + std::to_string(v) + "\n";
  family(out, "amo_hook_connections_total", "counter",
         "Connections named by amoCRM's disconnect hook: removed, or ignored as a replay.");
  for (auto& [k, v] : hooks_)
    out += "amo_hook_connections_total{outcome=\"" + k + "\"} " + std::to_string(v) + "\n";
  if (extra) extra(out);
  return out;
}

}  // namespace amo
