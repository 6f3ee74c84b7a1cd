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
  // Serves until request_stop(); then waits for in-flight requests (at most grace_s).
  void run(int grace_s = 20);
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

}  // namespace amo::http
