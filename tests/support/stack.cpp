#include "support/stack.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "crypto/crypto.hpp"
#include "util/json.hpp"

namespace amo::test {

std::string bin_path(const std::string& rel) { return std::string(AMO_BINARY_DIR) + "/" + rel; }
std::string src_path(const std::string& rel) { return std::string(AMO_SOURCE_DIR) + "/" + rel; }

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  ::chmod(tmpl.c_str(), 0755);
  return tmpl;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PgCluster::PgCluster(std::string dir) : dir_(std::move(dir)) {}
PgCluster::~PgCluster() {
  if (running_) stop();
}

void PgCluster::start() {
  std::string out;
  int rc = run({"bash", src_path("tools/devstack.sh"), "pg-start", dir_}, &out, {}, false);
  if (rc != 0) throw std::runtime_error("PostgreSQL did not start: " + out);
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  url_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  running_ = true;
}

void PgCluster::stop() {
  run({"bash", src_path("tools/devstack.sh"), "pg-stop", dir_});
  running_ = false;
}

std::string PgCluster::psql(const std::string& sql) const {
  std::string out;
  int rc = run({"psql", url_, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql}, &out, {},
               true);
  if (rc != 0) throw std::runtime_error("psql failed: " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Stack::Stack(StackOptions opts) : opts_(std::move(opts)) {
  dir = make_temp_dir("amo-test");
  pg = std::make_unique<PgCluster>(dir + "/pg");
  pg->start();

  int port = free_port();
  int sim_port = free_port();
  base = "http://127.0.0.1:" + std::to_string(port);
  sim = "http://127.0.0.1:" + std::to_string(sim_port);

  env = {
      {"DATABASE_URL", pg->url()},
      {"JWT_SECRET", crypto::hex(crypto::random_bytes(24))},
      {"TOKEN_ENCRYPTION_KEY", crypto::base64_encode(crypto::random_bytes(32))},
      {"AMO_CLIENT_ID", "7a1f6f0e-3c51-4b7e-9d1a-5e2b8c4d9f10"},
      {"AMO_CLIENT_SECRET", "sim-secret-" + crypto::hex(crypto::random_bytes(16))},
      {"AMO_REDIRECT_URI", base + "/api/v1/integrations/amo-crm/callback"},
      {"AMO_DOMAIN", "reforyou.amocrm.ru"},
      {"AMO_AUTH_URL", sim + "/oauth"},
      {"TEMPLATES_DIR", src_path("templates")},
      {"SQL_DIR", src_path("sql")},
      {"WORKER_THREADS", "8"},
      {"DB_POOL_SIZE", "4"},
      {"AMO_HTTP_TIMEOUT_MS", "3000"},
      {"LOG_LEVEL", "debug"},
      {"ASAN_OPTIONS", "detect_leaks=0"},
  };
  if (opts_.sim) env["AMO_BASE_URL"] = sim;
  for (auto& [k, v] : opts_.env) env[k] = v;

  std::string out;
  if (run({bin_path("amo-connect"), "migrate"}, &out, env) != 0)
    throw std::runtime_error("migrate failed: " + out);

  std::string sim_sock = dir + "/sim.sock";
  if (opts_.sim) {
    std::map<std::string, std::string> sim_env = {{"SIM_FCGI_SOCKET", sim_sock},
                                                  {"SIM_CLIENT_ID", env["AMO_CLIENT_ID"]},
                                                  {"SIM_CLIENT_SECRET", env["AMO_CLIENT_SECRET"]},
                                                  {"SIM_REDIRECT_URI", env["AMO_REDIRECT_URI"]},
                                                  {"SIM_ACCOUNT_HOST", env["AMO_DOMAIN"]},
                                                  {"ASAN_OPTIONS", "detect_leaks=0"}};
    for (auto& [k, v] : opts_.sim_env) sim_env[k] = v;
    sim_proc_.start({bin_path("tools/amo-sim/amo-sim")}, sim_env, dir + "/sim.log");
  }
  std::string socks;
  for (int i = 0; i < opts_.servers; ++i) {
    sockets_.push_back(dir + "/amo-" + std::to_string(i) + ".sock");
    socks += (i ? "," : "") + sockets_.back();
    servers_.push_back(std::make_unique<Process>());
    start_server(i, {});
  }
  std::vector<std::string> args = {"bash",         src_path("tools/devstack.sh"), "nginx-conf",
                                   dir + "/nginx", std::to_string(port),          socks};
  if (opts_.sim) {
    args.push_back(std::to_string(sim_port));
    args.push_back(sim_sock);
  }
  if (run(args, &out) != 0) throw std::runtime_error("nginx-conf failed: " + out);
  nginx_.start({"nginx", "-p", dir + "/nginx", "-c", dir + "/nginx/nginx.conf", "-e",
                dir + "/nginx/error.log", "-g", "daemon off;"},
               {}, dir + "/nginx/stdout.log");
  wait_http(base + "/healthz", 20000);
  if (opts_.sim) wait_http(sim + "/_sim/counters", 20000);
}

Stack::~Stack() {
  nginx_.stop(15, 5000);
  for (auto& s : servers_) s->stop(15, 10000);
  sim_proc_.stop(15, 5000);
  for (int fd : listen_fds_) ::close(fd);
  pg->stop();
  if (!std::getenv("AMO_KEEP_TEST_DIR")) run({"rm", "-rf", dir});
}

void Stack::start_server(int i, const std::map<std::string, std::string>& extra) {
  auto e = env;
  e["FCGI_SOCKET"] = sockets_[static_cast<size_t>(i)];
  for (auto& [k, v] : extra) e[k] = v;
  int fd = -1;
  if (opts_.socket_activation) {
    e["FCGI_SOCKET"] = "/nonexistent/not-used.sock";
    if (listen_fds_.size() <= static_cast<size_t>(i))
      listen_fds_.push_back(listen_unix(sockets_[static_cast<size_t>(i)]));
    fd = listen_fds_[static_cast<size_t>(i)];
  }
  servers_[static_cast<size_t>(i)]->start({bin_path("amo-connect"), "serve"}, e,
                                          dir + "/server-" + std::to_string(i) + ".log", fd);
  // Ready when the socket exists.
  for (int t = 0; t < 400; ++t) {
    if (::access(sockets_[static_cast<size_t>(i)].c_str(), F_OK) == 0 &&
        servers_[static_cast<size_t>(i)]->running())
      return;
    if (!servers_[static_cast<size_t>(i)]->running())
      throw std::runtime_error("amo-connect serve exited: " + server_log(i));
    sleep_ms(25);
  }
  throw std::runtime_error("amo-connect serve did not create its socket");
}

void Stack::restart_server(int i, const std::map<std::string, std::string>& extra) {
  servers_[static_cast<size_t>(i)]->stop(15, 10000);
  if (!opts_.socket_activation) ::unlink(sockets_[static_cast<size_t>(i)].c_str());
  start_server(i, extra);
  wait_http(base + "/healthz", 20000);
}

void Stack::wait_http(const std::string& url, int timeout_ms) const {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (http_get(url).status == 200) return;
    sleep_ms(50);
  }
  throw std::runtime_error("not ready: " + url + "\n" + all_logs());
}

std::string Stack::api(const std::string& suffix, int prefix) const {
  return base + (prefix == 0 ? "/api/amo-crm" : "/api/v1/integrations/amo-crm") + suffix;
}

std::string Stack::token(const std::string& user) const {
  std::string payload = json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "sub", user);
    json::kv(w, "exp", static_cast<int64_t>(std::time(nullptr)) + 3600);
    w.EndObject();
  });
  return auth::sign_jwt_hs256(payload, env.at("JWT_SECRET"));
}

std::string Stack::server_log(int i) const {
  return read_file(dir + "/server-" + std::to_string(i) + ".log");
}

std::string Stack::all_logs() const {
  std::string out;
  for (size_t i = 0; i < servers_.size(); ++i) out += server_log(static_cast<int>(i));
  out += read_file(dir + "/sim.log");
  out += read_file(dir + "/nginx/error.log");
  out += read_file(dir + "/nginx/access.log");
  return out;
}

void Stack::sim_reset() const { http("POST", sim + "/_sim/reset"); }

Stack& shared_stack() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    s = std::make_unique<Stack>();
    std::atexit([] { s.reset(); });
  }
  return *s;
}

}  // namespace amo::test
