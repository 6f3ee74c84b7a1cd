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

#include "amo/client.hpp"
#include "app/app.hpp"
#include "auth/jwt.hpp"
#include "http/errors.hpp"
#include "http/fcgi_server.hpp"
#include "oauth/tokens.hpp"
#include "render/pages.hpp"
#include "store/migrate.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo {

namespace {

const char* kUsage =
    "usage: amo-connect <command>\n"
    "  serve          run the FastCGI server (FCGI_SOCKET or a systemd socket)\n"
    "  migrate        apply the sql/ migrations not yet applied (SQL_DIR)\n"
    "  refresh-due    refresh connections idle for AMO_KEEPALIVE_DAYS\n"
    "  rotate-keys    re-encrypt stored tokens with TOKEN_ENCRYPTION_KEY\n"
    "  check-config   print the effective configuration (secrets masked), check the database\n"
    "  dev-token USER print an HS256 JWT for USER signed with JWT_SECRET (development)\n";

std::string sql_dir() {
  const char* d = std::getenv("SQL_DIR");
  return d && *d ? d : std::string(AMO_DEFAULT_DATADIR) + "/sql";
}

std::unique_ptr<store::Pool> make_pool(const Config& cfg) {
  return std::make_unique<store::Pool>(cfg.database_url, cfg.db_pool_size, cfg.db_pool_wait_ms,
                                       store::prepare_connection);
}

int cmd_serve(const Config& cfg) {
  log::set_level(cfg.log_level);
  // Signals are taken by one thread with sigwait; workers never see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  crypto::TokenCipher cipher(cfg.token_key, cfg.previous_token_keys);
  auto pool = make_pool(cfg);
  try {
    pool->warm_up();
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
  Metrics metrics;
  amo_api::Client amo(cfg, metrics);
  Context ctx{cfg, *pool, metrics, cipher, pages.get(), &amo};
  App app(ctx);
  int fd = http::FcgiServer::open_listen_socket(cfg.fcgi_socket);
  http::FcgiServer server(fd, cfg.worker_threads, [&](http::Request& req, bool too_large) {
    return app.handle(req, too_large);
  });
  std::thread sig([&] {
    int signo = 0;
    sigwait(&set, &signo);
    sd_notify(0, "STOPPING=1");
    log::info("stopping",
              [&](json::Writer& w) { json::kv(w, "signal", static_cast<int64_t>(signo)); });
    server.request_stop();
  });
  sig.detach();
  log::info("listening", [&](json::Writer& w) {
    json::kv(w, "socket", cfg.fcgi_socket);
    json::kv(w, "threads", static_cast<int64_t>(cfg.worker_threads));
    json::kv(w, "version", std::string_view(AMO_VERSION));
  });
  sd_notify(0, "READY=1");
  server.run(cfg.shutdown_grace_s);
  log::info("stopped", [&](json::Writer& w) {
    json::kv(w, "in_flight_left", static_cast<int64_t>(server.in_flight()));
  });
  std::fflush(stderr);
  std::_Exit(0);  // worker threads idle on kept-alive connections are not joined
}

// Keeps refresh tokens alive: refreshes every connection idle for AMO_KEEPALIVE_DAYS.
int cmd_refresh_due(const Config& cfg) {
  const double started = static_cast<double>(std::time(nullptr));
  log::set_level(cfg.log_level);
  crypto::TokenCipher cipher(cfg.token_key, cfg.previous_token_keys);
  auto pool = make_pool(cfg);
  Metrics metrics;
  amo_api::Client amo(cfg, metrics);
  Context ctx{cfg, *pool, metrics, cipher, nullptr, &amo};
  std::vector<std::string> due;
  try {
    due = pool->with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return store::due_for_refresh(tx, cfg.amo_keepalive_days);
    });
  } catch (const http::ApiError&) {
    std::cerr << "amo-connect: refresh-due: database unreachable (DATABASE_URL)\n";
    return 1;
  }
  int ok = 0, failed = 0;
  for (auto& user : due) {
    try {
      auto row = pool->with([&](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        return store::get_connection(tx, user);
      });
      if (!row) continue;
      oauth::refresh(ctx, user, row->token_version, /*force=*/true);
      ++ok;
    } catch (const http::ApiError& e) {
      ++failed;
      log::warn("keep-alive refresh failed", [&](json::Writer& w) {
        json::kv(w, "code", e.code());
        json::kv(w, "status", static_cast<int64_t>(e.status()));
      });
    }
  }
  std::cout << "refresh-due: " << due.size() << " due, " << ok << " refreshed, " << failed
            << " failed\n";
  store::record_job_run(*pool,
                        {"refresh-due", started, failed == 0, int64_t(due.size()), ok, failed});
  return failed == 0 ? 0 : 1;
}

// Re-encrypts every stored token under the current TOKEN_ENCRYPTION_KEY.
int cmd_rotate_keys(const Config& cfg) {
  crypto::TokenCipher cipher(cfg.token_key, cfg.previous_token_keys);
  auto pool = make_pool(cfg);
  Metrics metrics;
  Context ctx{cfg, *pool, metrics, cipher};
  int rewrapped = 0, unreadable = 0;
  for (;;) {
    auto rows = pool->with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return store::rows_not_under_key(tx, cipher.current_id(), 200);
    });
    int progress = 0;
    for (auto& r : rows) {
      try {
        std::string a = cipher.decrypt(*r.access_enc, *r.key_id, r.user_id + "|access");
        std::string f = cipher.decrypt(*r.refresh_enc, *r.key_id, r.user_id + "|refresh");
        auto sealed = oauth::seal(ctx, r.user_id, a, f);
        bool done = pool->with([&](pqxx::connection& c) {
          pqxx::work tx(c);
          bool ok = store::rewrap_tokens(tx, r.user_id, r.token_version, sealed.access,
                                         sealed.refresh, sealed.key_id);
          tx.commit();
          return ok;
        });
        rewrapped += done;
        progress += done;
      } catch (const crypto::CryptoError&) {
        ++unreadable;
      }
    }
    if (rows.empty() || progress == 0) break;
  }
  std::cout << "rotate-keys: " << rewrapped << " connections re-encrypted with key "
            << cipher.current_id();
  if (unreadable)
    std::cout << ", " << unreadable
              << " unreadable (their key is not in TOKEN_ENCRYPTION_PREVIOUS_KEYS)";
  std::cout << "\n";
  return unreadable == 0 ? 0 : 1;
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
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  try {
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
      if (cmd == "refresh-due") return cmd_refresh_due(cfg);
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
    std::cerr << kUsage;
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
