#include "app/cli.hpp"

#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "amo/client.hpp"
#include "app/app.hpp"
#include "app/connections_cli.hpp"
#include "app/metrics.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "http/fcgi_server.hpp"
#include "oauth/keepalive.hpp"
#include "render/pages.hpp"
#include "store/migrate.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo {

namespace {

const char* kUsage =
    "usage: amo-connect <command>\n"
    "  serve          run the FastCGI server (FCGI_SOCKET or a systemd socket)\n"
    "  migrate        apply the sql/ migrations not yet applied (SQL_DIR)\n"
    "  refresh-due [--concurrency N]  refresh connections idle for AMO_KEEPALIVE_DAYS\n"
    "  rotate-keys    re-encrypt stored tokens with TOKEN_ENCRYPTION_KEY\n"
    "  check-config   print the effective configuration (secrets masked), check the database\n"
    "  dev-token USER print an HS256 JWT for USER signed with JWT_SECRET (development)\n";

std::string usage() { return std::string(kUsage) + kConnectionsUsage; }

std::string sql_dir() {
  const char* d = std::getenv("SQL_DIR");
  return d && *d ? d : std::string(AMO_DEFAULT_DATADIR) + "/sql";
}

std::unique_ptr<store::Pool> make_pool(const Config& cfg) {
  return std::make_unique<store::Pool>(cfg.database_url, cfg.db_pool_size, cfg.db_pool_wait_ms,
                                       store::prepare_connection);
}

// The process-wide services every command builds the same way.
struct Runtime {
  explicit Runtime(const Config& c)
      : cfg(c),
        cipher(c.token_key, c.previous_token_keys),
        pool(make_pool(c)),
        amo(c, metrics),
        svc{cfg, *pool, metrics, cipher, amo} {}
  const Config& cfg;
  crypto::TokenCipher cipher;
  std::unique_ptr<store::Pool> pool;
  Metrics metrics;
  amo_api::Client amo;
  Services svc;
};

int cmd_serve(const Config& cfg) {
  log::set_level(cfg.log_level);
  // Signals are taken by one thread with sigwait; workers never see them.
  http::block_stop_signals();
  Runtime rt(cfg);
  try {
    rt.pool->warm_up();
  } catch (const std::exception&) {
    std::fprintf(stderr, "amo-connect: database unreachable at start-up (DATABASE_URL)\n");
    return 1;
  }
  std::unique_ptr<render::Pages> pages;
  try {
    pages = std::make_unique<render::Pages>(cfg.templates_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "amo-connect: TEMPLATES_DIR: %s\n", e.what());
    return 2;
  }
  Context ctx{rt.svc, *pages};
  App app(ctx);
  int fd = http::FcgiServer::open_listen_socket(cfg.fcgi_socket);
  http::FcgiServer server(fd, cfg.worker_threads, [&](http::Request& req, bool too_large) {
    return app.handle(req, too_large);
  });
  log::info("listening", [&](json::Writer& w) {
    json::kv(w, "socket", cfg.fcgi_socket);
    json::kv(w, "threads", static_cast<int64_t>(cfg.worker_threads));
    json::kv(w, "version", std::string_view(AMO_VERSION));
  });
  sd_notify(0, "READY=1");
  auto how = http::serve_until_signal(server, cfg.shutdown_grace_s, [](int signo) {
    sd_notify(0, "STOPPING=1");
    log::info("stopping",
              [&](json::Writer& w) { json::kv(w, "signal", static_cast<int64_t>(signo)); });
  });
  log::info("stopped", [&](json::Writer& w) {
    json::kv(w, "clean", how == http::FcgiServer::Stopped::kClean);
  });
  return 0;
}

// Keeps refresh tokens alive: refreshes every connection idle for AMO_KEEPALIVE_DAYS.
int cmd_refresh_due(const Config& cfg, int concurrency) {
  const double started = static_cast<double>(std::time(nullptr));
  log::set_level(cfg.log_level);
  Runtime rt(cfg);
  oauth::RefreshDueResult r;
  try {
    r = oauth::refresh_due(rt.svc, concurrency);
  } catch (const core::Error&) {
    std::cerr << "amo-connect: refresh-due: database unreachable (DATABASE_URL)\n";
    return 1;
  }
  std::cout << "refresh-due: " << r.due << " due, " << r.refreshed << " refreshed, " << r.reauth
            << " need re-authorization, " << r.failed << " failed; " << r.store_purged
            << " stored leads answers purged\n";
  store::record_job_run(*rt.pool, {"refresh-due", started, r.failed == 0, int64_t(r.due),
                                   int64_t(r.refreshed), int64_t(r.reauth), int64_t(r.failed)});
  return r.failed == 0 ? 0 : 1;
}

// Re-encrypts every stored token under the current TOKEN_ENCRYPTION_KEY.
int cmd_rotate_keys(const Config& cfg) {
  Runtime rt(cfg);
  auto r = oauth::rotate_keys(rt.svc);
  std::cout << "rotate-keys: " << r.rewrapped << " connections re-encrypted with key "
            << rt.cipher.current_id();
  if (r.unreadable)
    std::cout << ", " << r.unreadable
              << " unreadable (their key is not in TOKEN_ENCRYPTION_PREVIOUS_KEYS)";
  std::cout << "\n";
  return r.unreadable == 0 ? 0 : 1;
}

// `connections …`: the arguments are checked before the configuration is read.
int cmd_connections(int argc, char** argv) {
  ConnectionsArgs args;
  try {
    args = parse_connections_args(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "amo-connect: " << e.what() << "\nusage:\n" << kConnectionsUsage;
    return 2;
  }
  Config cfg = Config::from_process_env();
  log::set_level(cfg.log_level);
  Runtime rt(cfg);
  return run_connections(rt.svc, args, std::cout, std::cerr);
}

int cmd_check_config(const Config& cfg) {
  for (auto& line : cfg.describe()) std::cout << line << "\n";
  auto pool = make_pool(cfg);
  try {
    pool->warm_up();
  } catch (const std::exception&) {
    std::cerr << "amo-connect: database check failed: cannot connect with DATABASE_URL\n";
    return 1;
  }
  std::cout << "database: ok\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage();
    return 2;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "connections") return cmd_connections(argc, argv);
    if (cmd == "migrate") {
      auto url = Config::database_url_from_env([](const char* n) { return std::getenv(n); });
      auto applied = store::migrate(url, sql_dir());
      for (auto& a : applied) std::cout << "applied " << a << "\n";
      if (applied.empty()) std::cout << "schema is up to date\n";
      return 0;
    }
    if (cmd == "serve" || cmd == "check-config" || cmd == "dev-token" || cmd == "refresh-due" ||
        cmd == "rotate-keys") {
      Config cfg = Config::from_process_env();
      if (cmd == "serve") return cmd_serve(cfg);
      if (cmd == "refresh-due") {
        int concurrency = 4;
        for (int i = 2; i + 1 < argc; ++i)
          if (std::string(argv[i]) == "--concurrency") {
            auto n = core::parse_decimal(argv[i + 1], 1, 64);
            if (!n) {
              std::cerr << "amo-connect: refresh-due: --concurrency must be from 1 to 64\n";
              return 2;
            }
            concurrency = static_cast<int>(*n);
          }
        return cmd_refresh_due(cfg, concurrency);
      }
      if (cmd == "rotate-keys") return cmd_rotate_keys(cfg);
      if (cmd == "check-config") return cmd_check_config(cfg);
      if (argc < 3) {
        std::cerr << "amo-connect: dev-token needs a user id\n";
        return 2;
      }
      std::string payload = json::write([&](json::Writer& w) {
        w.StartObject();
        json::kv(w, "sub", std::string_view(argv[2]));
        json::kv(w, "exp", static_cast<int64_t>(std::time(nullptr)) + 30 * 86400);
        w.EndObject();
      });
      std::cout << auth::sign_jwt_hs256(payload, cfg.jwt_secret) << "\n";
      return 0;
    }
    std::cerr << usage();
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "amo-connect: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::string what = e.what();  // PostgreSQL messages span lines: keep it to one
    for (char& c : what)
      if (c == '\n' || c == '\r') c = ' ';
    while (!what.empty() && what.back() == ' ') what.pop_back();
    std::cerr << "amo-connect: " << cmd << " failed: " << what << "\n";
    return 1;
  }
}

}  // namespace amo
