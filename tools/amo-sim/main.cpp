// amo-sim — an amoCRM simulator served over FastCGI (see README.md).
#include <curl/curl.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "http/fcgi_server.hpp"
#include "sim.hpp"

namespace {

std::string env(const char* name, const std::string& def = {}) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : def;
}

// Returns false (after printing one line) when the variable is set but not a valid integer.
bool env_int(const char* name, int64_t& out, int64_t min, int64_t max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return true;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v, &end, 10);
  if (errno || *end != '\0' || n < min || n > max) {
    std::cerr << "amo-sim: " << name << " must be an integer in [" << min << ", " << max << "]\n";
    return false;
  }
  out = n;
  return true;
}

}  // namespace

int main() {
  amosim::Config cfg;
  cfg.fcgi_socket = env("SIM_FCGI_SOCKET");
  if (cfg.fcgi_socket.empty()) {
    std::cerr << "amo-sim: SIM_FCGI_SOCKET is required (unix socket path or host:port)\n";
    return 2;
  }
  cfg.client_id = env("SIM_CLIENT_ID", "00000000-0000-4000-8000-00000000a0c0");
  cfg.client_secret = env("SIM_CLIENT_SECRET", "amo-sim-client-secret");
  cfg.redirect_uri = env("SIM_REDIRECT_URI", "http://127.0.0.1:8080/api/amo-crm/callback");
  cfg.account_host = env("SIM_ACCOUNT_HOST", cfg.account_host);
  cfg.account_name = env("SIM_ACCOUNT_NAME", cfg.account_name);
  cfg.verbose = env("SIM_VERBOSE") == "1";
  int64_t threads = cfg.threads, rate = cfg.rate_limit;
  if (!env_int("SIM_ACCOUNT_ID", cfg.account_id, 1, 999999999999) ||
      !env_int("SIM_THREADS", threads, 1, 256) || !env_int("SIM_RATE_LIMIT", rate, 0, 100000) ||
      !env_int("SIM_TOKEN_LIFETIME_S", cfg.token_lifetime_s, 0, 10LL * 365 * 86400))
    return 2;
  cfg.threads = static_cast<int>(threads);
  cfg.rate_limit = static_cast<int>(rate);

  // Signals go to one waiting thread; every other thread has them blocked.
  amo::http::block_stop_signals();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  try {
    amosim::Sim sim(cfg);
    int fd = amo::http::FcgiServer::open_listen_socket(cfg.fcgi_socket);
    amo::http::FcgiServer server(fd, cfg.threads, [&sim](amo::http::Request& req, bool too_large) {
      return sim.handle(req, too_large);
    });
    std::cerr << "amo-sim: listening on " << cfg.fcgi_socket << " (account " << cfg.account_id
              << " " << cfg.account_host << ", rate limit " << cfg.rate_limit << "/s)\n";
    amo::http::serve_until_signal(server, 2);
  } catch (const std::exception& e) {
    std::cerr << "amo-sim: " << e.what() << '\n';
    return 1;
  }
  std::cerr << "amo-sim: stopped\n";
  return 0;
}
