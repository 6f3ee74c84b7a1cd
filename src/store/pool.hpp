#pragma once
// A bounded PostgreSQL connection pool shared by the worker threads.
// A connection belongs to one thread at a time; a broken one is dropped, never reused.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace amo::store {

struct PoolStats {
  int size = 0;        // configured maximum
  int open = 0;        // connections currently open
  int in_use = 0;      // leased right now
  uint64_t waits = 0;  // acquisitions that had to wait
  double wait_seconds_total = 0;
  uint64_t timeouts = 0;
  uint64_t broken = 0;  // connections dropped as broken
};

class Pool {
 public:
  // `prepare` runs once on every new connection (session settings, prepared statements).
  Pool(std::string url, int size, int wait_ms, std::function<void(pqxx::connection&)> prepare);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `f` with a leased connection. A broken connection is dropped and the request
  // answered 503 (core::Error kDbUnavailable); when `retry_stale` is true and the failure
  // came from a reused connection, `f` is retried once on a fresh one (use it for work
  // that is safe to repeat: one transaction, no calls to the outside world).
  template <typename F>
  auto with(F&& f, bool retry_stale = true) -> decltype(f(std::declval<pqxx::connection&>()));

  // Opens one connection now (start-up check); throws on failure.
  void warm_up();
  PoolStats stats() const;

 private:
  struct Lease {
    std::unique_ptr<pqxx::connection> conn;
    bool reused = false;
  };
  Lease acquire();
  void release(std::unique_ptr<pqxx::connection> c, bool broken);
  [[noreturn]] void unavailable(const char* what);
  std::unique_ptr<pqxx::connection> open();

  std::string url_;
  int size_;
  std::chrono::milliseconds wait_;
  std::function<void(pqxx::connection&)> prepare_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<pqxx::connection>> idle_;  // FIFO: oldest idle first
  int open_ = 0;
  int in_use_ = 0;
  uint64_t waits_ = 0, timeouts_ = 0, broken_ = 0;
  double wait_total_ = 0;
};

template <typename F>
auto Pool::with(F&& f, bool retry_stale) -> decltype(f(std::declval<pqxx::connection&>())) {
  for (int attempt = 0;; ++attempt) {
    Lease l = acquire();
    try {
      if constexpr (std::is_void_v<decltype(f(*l.conn))>) {
        f(*l.conn);
        release(std::move(l.conn), false);
        return;
      } else {
        auto r = f(*l.conn);
        release(std::move(l.conn), false);
        return r;
      }
    } catch (const pqxx::broken_connection&) {
      release(std::move(l.conn), true);
      if (retry_stale && l.reused && attempt == 0) continue;
      unavailable("connection lost");
    } catch (const pqxx::in_doubt_error&) {
      release(std::move(l.conn), true);
      unavailable("commit in doubt");
    } catch (...) {
      // Any other failure: the connection may be mid-transaction; pqxx rolled it back
      // in the transaction's destructor, so the connection itself is fine to reuse
      // unless libpq says it is closed.
      bool bad = !l.conn || !l.conn->is_open();
      release(std::move(l.conn), bad);
      throw;
    }
  }
}

}  // namespace amo::store
