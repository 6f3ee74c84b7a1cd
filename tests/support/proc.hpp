#pragma once
// Child processes for tests: start with an environment, log to a file, signal, wait.
#include <map>
#include <string>
#include <vector>

namespace amo::test {

// Runs a command to completion; returns exit status; stdout (and stderr if merge) into `out`.
int run(const std::vector<std::string>& argv, std::string* out = nullptr,
        const std::map<std::string, std::string>& env = {}, bool merge_stderr = true);

// Like run, with stdout and stderr captured apart (stderr through a temporary file).
int run_split(const std::vector<std::string>& argv, std::string* out, std::string* err,
              const std::map<std::string, std::string>& env = {});

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();
  // Starts argv with the current environment plus `env`; stdout+stderr appended to log_path.
  // `listen_fd` ≥ 0: passed as fd 3 the way systemd's socket activation does
  // (LISTEN_FDS=1, LISTEN_PID=<child>).
  void start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& log_path, int listen_fd = -1);
  bool running();
  // Sends `sig` and waits up to timeout_ms; SIGKILL after that. Returns exit status (or -signal).
  int stop(int sig = 15, int timeout_ms = 10000);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int status_ = 0;
};

// A listening unix socket at `path` (what systemd's .socket unit creates and keeps).
int listen_unix(const std::string& path);
// A free TCP port on 127.0.0.1.
int free_port();
void sleep_ms(int ms);

}  // namespace amo::test
