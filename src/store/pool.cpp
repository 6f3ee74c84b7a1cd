#include "store/pool.hpp"

#include <poll.h>

#include <cstdlib>

#include "core/error.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::store {

namespace {
// An idle connection whose socket is readable or hung up was closed by the server
// (restart, idle timeout, admin kill): it must not be handed out.
bool looks_dead(pqxx::connection& c) {
  if (!c.is_open()) return true;
  int fd = c.sock();
  if (fd < 0) return true;
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, 0);
  return n != 0;
}
}  // namespace

Pool::Pool(std::string url, int size, int wait_ms, std::function<void(pqxx::connection&)> prepare)
    : url_(std::move(url)), size_(size), wait_(wait_ms), prepare_(std::move(prepare)) {
  // Bound the connect itself (libpq reads this when the URL does not set connect_timeout).
  ::setenv("PGCONNECT_TIMEOUT", "3", 0);
}

Pool::~Pool() = default;

std::unique_ptr<pqxx::connection> Pool::open() {
  auto c = std::make_unique<pqxx::connection>(url_);
  if (prepare_) prepare_(*c);
  return c;
}

void Pool::unavailable(const char* what) {
  log::warn("database unavailable", [&](json::Writer& w) { json::kv(w, "reason", what); });
  throw core::Error(core::Fault::kDbUnavailable, {}, 2);
}

// FIFO: the connection idle longest goes first, so every connection stays in use (none
// sits idle long enough to be closed by a server timeout while others are worn). Nothing
// under the lock makes a system call: the liveness poll and the close of a dead
// connection happen after it is released, and waiters are woken after unlocking.
Pool::Lease Pool::acquire() {
  auto start = std::chrono::steady_clock::now();
  bool waited = false;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.front());
      idle_.pop_front();
      ++in_use_;
      lk.unlock();
      if (!looks_dead(*c)) {
        if (waited) {
          double s =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::lock_guard<std::mutex> g(mu_);
          wait_total_ += s;
        }
        return Lease{std::move(c), true};
      }
      c.reset();  // dropped: closed here, outside the lock
      lk.lock();
      --in_use_;
      --open_;
      ++broken_;
    }
    if (open_ < size_) {
      ++open_;
      ++in_use_;
      lk.unlock();
      try {
        return Lease{open(), false};
      } catch (const std::exception&) {
        lk.lock();
        --open_;
        --in_use_;
        lk.unlock();
        cv_.notify_one();
        unavailable("connect failed");
      }
    }
    if (!waited) {
      waited = true;
      ++waits_;
    }
    if (cv_.wait_until(lk, start + wait_) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      ++timeouts_;
      throw core::Error(core::Fault::kDbBusy, "All database connections are busy; retry later", 1);
    }
  }
}

void Pool::release(std::unique_ptr<pqxx::connection> c, bool broken) {
  std::unique_ptr<pqxx::connection> drop;  // closed after the lock is released
  {
    std::lock_guard<std::mutex> lk(mu_);
    --in_use_;
    if (broken || !c) {
      --open_;
      ++broken_;
      drop = std::move(c);
    } else {
      idle_.push_back(std::move(c));
    }
  }
  cv_.notify_one();
}

void Pool::warm_up() {
  with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    ping(tx);
  });
}

PoolStats Pool::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return PoolStats{size_, open_, in_use_, waits_, wait_total_, timeouts_, broken_};
}

}  // namespace amo::store
