#pragma once
// The thin FastCGI loop: N threads, each with its own FCGX_Request around FCGX_Accept_r.
// Converts FastCGI params to http::Request and writes http::Response; nothing else sees
// FastCGI types.
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "http/request.hpp"
#include "http/response.hpp"

namespace amo::http {

inline constexpr size_t kMaxBodyBytes = 64 * 1024;

class FcgiServer {
 public:
  // Called for every request; must not throw (the caller wraps handlers in one catch).
  // `too_large` is set when the body exceeded kMaxBodyBytes (body is then empty).
  using Dispatch = std::function<Response(Request&, bool too_large)>;

  // Opens the listening socket: systemd-activated socket if any (sd_listen_fds), else
  // `spec`: a unix socket path (created with mode 0660) or "host:port".
  static int open_listen_socket(const std::string& spec);

  FcgiServer(int listen_fd, int threads, Dispatch dispatch);
  enum class Stopped { kClean, kTimedOut };
  // Serves until request_stop(); then lets in-flight requests finish and joins every
  // worker it started. kTimedOut when that took longer than grace_s (the workers are
  // joined all the same: every request is bounded by its own timeouts).
  Stopped run(int grace_s = 20);
  // Stops accepting: idle workers are woken with SIGUSR1 (their accept fails with EINTR).
  // The listening socket itself is left alone: under systemd socket activation it belongs
  // to systemd and serves the next instance.
  void request_stop();
  int in_flight() const { return in_flight_.load(); }

 private:
  void worker(size_t index);
  int listen_fd_;
  int threads_;
  Dispatch dispatch_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::unique_ptr<std::atomic<bool>[]> idle_;  // per worker: blocked in accept
  std::atomic<int> alive_{0};
};

// Blocks SIGTERM and SIGINT in the calling thread and so in every thread started after it:
// call first thing in main, before any thread exists.
void block_stop_signals();
// Runs `server` until SIGTERM or SIGINT arrives, calling `on_signal(signo)` first; returns
// how run() stopped. Needs block_stop_signals() to have been called.
FcgiServer::Stopped serve_until_signal(FcgiServer& server, int grace_s,
                                       const std::function<void(int)>& on_signal = {});

}  // namespace amo::http
