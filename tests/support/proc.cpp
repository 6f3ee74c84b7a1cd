#include "support/proc.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace amo::test {

namespace {
// Everything exec needs, built before fork: the child of a multi-threaded test may only
// call async-signal-safe functions until it execs (a malloc there can wait forever for a
// lock another thread held at the fork: setenv in the child hung an e2e run under ASan).
class ExecPlan {
 public:
  ExecPlan(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
           bool listen_fds = false)
      : args_(argv) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string::npos) merged.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    for (auto& [k, v] : env) merged[k] = v;
    if (listen_fds) {
      merged["LISTEN_FDS"] = "1";
      merged["LISTEN_PID"] = std::string(20, '\0');  // the child's pid, written after the fork
    }
    for (auto& [k, v] : merged) envs_.push_back(k + "=" + v);
    for (auto& a : args_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    for (auto& e : envs_) {
      envp_.push_back(e.data());
      if (listen_fds && e.rfind("LISTEN_PID=", 0) == 0) pid_slot_ = e.data() + 11;
    }
    envp_.push_back(nullptr);
  }
  // In the child: no allocation from here on.
  [[noreturn]] void exec() {
    if (pid_slot_ != nullptr) {
      char digits[20];
      int n = 0;
      for (unsigned long p = static_cast<unsigned long>(::getpid()); n == 0 || p > 0; p /= 10)
        digits[n++] = static_cast<char>('0' + p % 10);
      for (int i = 0; i < n; ++i) pid_slot_[i] = digits[n - 1 - i];
      pid_slot_[n] = '\0';
    }
    ::execvpe(argv_[0], argv_.data(), envp_.data());
    ::_exit(127);
  }

 private:
  std::vector<std::string> args_, envs_;
  std::vector<char*> argv_, envp_;
  char* pid_slot_ = nullptr;
};

std::string read_all(int fd) {
  std::string buf;
  char tmp[4096];
  ssize_t n;
  while ((n = ::read(fd, tmp, sizeof tmp)) > 0) buf.append(tmp, static_cast<size_t>(n));
  return buf;
}

// Runs argv to completion with stdout read from a pipe into `out`; stderr goes to `err_fd`
// (kMerge: the same pipe; kInherit: the test's own).
constexpr int kMerge = -1, kInherit = -2;
int run_child(const std::vector<std::string>& argv, std::string* out,
              const std::map<std::string, std::string>& env, int err_fd) {
  ExecPlan plan(argv, env);
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    if (err_fd == kMerge) ::dup2(fds[1], 2);
    if (err_fd >= 0) {
      ::dup2(err_fd, 2);
      ::close(err_fd);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    plan.exec();
  }
  ::close(fds[1]);
  std::string buf = read_all(fds[0]);
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (out) *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
}  // namespace

int run(const std::vector<std::string>& argv, std::string* out,
        const std::map<std::string, std::string>& env, bool merge_stderr) {
  return run_child(argv, out, env, merge_stderr ? kMerge : kInherit);
}

int run_split(const std::vector<std::string>& argv, std::string* out, std::string* err,
              const std::map<std::string, std::string>& env) {
  char path[] = "/tmp/amo-stderr-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::unlink(path);  // the child writes through the open descriptor
  int rc = run_child(argv, out, env, fd);
  ::lseek(fd, 0, SEEK_SET);
  if (err) *err = read_all(fd);
  ::close(fd);
  return rc;
}

Process::~Process() {
  if (pid_ > 0) stop(SIGKILL, 2000);
}

void Process::start(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const std::string& log_path,
                    int listen_fd) {
  ExecPlan plan(argv, env, /*listen_fds=*/listen_fd >= 0);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (listen_fd >= 0) {
      if (listen_fd != 3) {
        ::dup2(listen_fd, 3);
      } else {
        ::fcntl(3, F_SETFD, 0);
      }
    }
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    plan.exec();
  }
  pid_ = pid;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    pid_ = -1;
    return false;
  }
  return true;
}

int Process::stop(int sig, int timeout_ms) {
  if (pid_ <= 0) return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
      break;
    }
    sleep_ms(10);
  }
  pid_ = -1;
  status_ = st;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

int listen_unix(const std::string& path) {
  ::unlink(path.c_str());
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 1024) != 0)
    throw std::runtime_error("cannot listen on " + path);
  return s;
}

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace amo::test
