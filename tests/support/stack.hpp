#pragma once
// The real stack for db/e2e tests: a throwaway PostgreSQL cluster (initdb in a temp dir,
// unix socket, fsync off), the amoCRM simulator, `amo-connect serve` and nginx with the
// shipped location blocks. Everything is started by the test binary itself.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/proc.hpp"

namespace amo::test {

std::string make_temp_dir(const std::string& prefix);
std::string read_file(const std::string& path);

class PgCluster {
 public:
  explicit PgCluster(std::string dir);
  ~PgCluster();
  void start();
  void stop();
  const std::string& url() const { return url_; }
  // psql -c <sql>; returns stdout (tuples only, unaligned).
  std::string psql(const std::string& sql) const;

 private:
  std::string dir_, url_;
  bool running_ = false;
};

struct StackOptions {
  bool sim = true;
  int servers = 1;  // `amo-connect serve` processes behind one nginx upstream
  std::map<std::string, std::string> env;      // extra/overriding server environment
  std::map<std::string, std::string> sim_env;  // extra/overriding simulator environment
  // Start the servers the way systemd's amo-connect.socket does: the stack creates and
  // keeps the listening socket and passes it as fd 3 (LISTEN_FDS) to every start of the
  // server, restarts included; FCGI_SOCKET is not used.
  bool socket_activation = false;
};

class Stack {
 public:
  explicit Stack(StackOptions opts = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  std::string dir;
  std::string base;                        // http://127.0.0.1:<nginx port>
  std::string sim;                         // http://127.0.0.1:<sim port>
  std::map<std::string, std::string> env;  // the servers' environment
  std::unique_ptr<PgCluster> pg;

  // "…/api/amo-crm/<suffix>" (prefix 0) or "…/api/v1/integrations/amo-crm/<suffix>" (1).
  std::string api(const std::string& suffix, int prefix = 0) const;
  // An HS256 JWT for `user`, signed with the stack's JWT_SECRET.
  std::string token(const std::string& user) const;
  std::string auth(const std::string& user) const { return bearer(token(user)); }
  // The log of server i (stdout+stderr).
  std::string server_log(int i = 0) const;
  std::string all_logs() const;
  // Stops and starts server i (same socket), with `extra` env layered on top.
  void restart_server(int i, const std::map<std::string, std::string>& extra = {});
  Process& server(int i) { return *servers_[static_cast<size_t>(i)]; }
  // Resets the simulator's counters, knobs, codes and tokens.
  void sim_reset() const;

 private:
  void start_server(int i, const std::map<std::string, std::string>& extra);
  void wait_http(const std::string& url, int timeout_ms) const;
  StackOptions opts_;
  std::vector<std::unique_ptr<Process>> servers_;
  std::vector<std::string> sockets_;
  std::vector<int> listen_fds_;  // socket activation: held like systemd holds them
  Process sim_proc_, nginx_;
};

// One stack per test binary, created on first use and torn down at exit.
Stack& shared_stack();

std::string bin_path(const std::string& rel);  // AMO_BINARY_DIR + rel
std::string src_path(const std::string& rel);  // AMO_SOURCE_DIR + rel

}  // namespace amo::test
