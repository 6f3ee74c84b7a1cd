// with_stack [--env NAME=VALUE]… <command> [args…]
//
// Starts the real test stack (PostgreSQL + amo-sim + `amo-connect serve` + nginx, see
// tests/support/stack.hpp; each --env is layered on the servers' environment), runs <command>
// with inherited stdio and this environment added:
//
//   BASE_URL       http://127.0.0.1:<nginx port>         (amo-connect behind nginx)
//   SIM_URL        http://127.0.0.1:<sim port>           (amo-sim behind nginx, /_sim/* knobs)
//   APP_JWT        an HS256 JWT for user "browser-user"
//   APP_DEEP_LINK  the servers' APP_DEEP_LINK (taken from the environment when set,
//                  default foryoure://amo-crm/callback)
//   AMO_STACK_DIR  the stack's temp dir (logs; kept when AMO_KEEP_TEST_DIR is set)
//   STACK_CONTROL  a unix socket for the few things a test cannot do over HTTP. One request
//                  line per connection, answered with one line, then the connection closes:
//                    restart-server [NAME=VALUE …]   server 0 is stopped and started again
//                        with these variables layered on the stack's own environment (none:
//                        back to the stack's own) and answers /healthz → "ok"
//                    anything else, or a failure  → "error <why>"
//                  Requests are served one at a time, while the command runs.
//   JWT_SECRET, AMO_CLIENT_ID, AMO_CLIENT_SECRET, DATABASE_URL, AMO_HTTP_TIMEOUT_MS
//                  the servers' values (generated per run), for tests that sign their own
//                  JWTs or amoCRM hooks, or stop the database
//
// then tears the stack down and exits with the command's exit status (128+N when it was
// killed by signal N). SIGINT/SIGTERM/SIGHUP are forwarded to the command, so an interrupted
// run still stops PostgreSQL, nginx and the servers; SIGPIPE is ignored for the same reason.
// When the command fails, the tail of the server, simulator and nginx logs goes to stderr.
// Lives in tests/browser/ (not tests/support/) because every tests/support/*.cpp goes into
// the amo_test_support library, which must not contain a main().
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/stack.hpp"

namespace {

volatile sig_atomic_t g_child = -1;
volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  if (g_child > 0) ::kill(static_cast<pid_t>(g_child), sig);
}

void install_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  // A closed stdout/stderr (e.g. `with_stack … | head`) must not kill us before the teardown.
  ::signal(SIGPIPE, SIG_IGN);
}

// fork/exec with inherited stdin/stdout/stderr; returns the exit status (128+N on signal N).
int run_inherited(char** argv) {
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("with_stack: fork");
    return 127;
  }
  if (pid == 0) {
    struct sigaction sa = {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::sigaction(sig, &sa, nullptr);
    ::execvp(argv[0], argv);
    std::fprintf(stderr, "with_stack: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  g_child = pid;
  if (g_signal) ::kill(pid, g_signal);  // a signal that arrived before g_child was set
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) {
      std::perror("with_stack: waitpid");
      g_child = -1;
      return 127;
    }
  }
  g_child = -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 127;
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "…" + s.substr(s.size() - n);
}

// STACK_CONTROL (see the top of the file): a thread serving the control socket until stop().
class Control {
 public:
  Control(amo::test::Stack& stack, std::string path) : stack_(stack), path_(std::move(path)) {
    listen_fd_ = amo::test::listen_unix(path_);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    thread_ = std::thread([this] { serve(); });
  }
  ~Control() { stop(); }
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Ends the thread after the request in progress, if any.
  void stop() {
    if (!thread_.joinable()) return;
    const char byte = 1;
    while (::write(stop_pipe_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    ::unlink(path_.c_str());
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      if (!(fds[0].revents & POLLIN)) continue;
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string reply = answer(read_line(c));
      reply += "\n";
      (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  // One line (without "\n"), at most 4 KiB, given 10 s.
  static std::string read_line(int fd) {
    std::string line;
    char ch = 0;
    while (line.size() < 4096) {
      pollfd p = {fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) break;
      if (::recv(fd, &ch, 1, 0) != 1 || ch == '\n') break;
      line.push_back(ch);
    }
    return line;
  }

  std::string answer(const std::string& line) {
    std::istringstream in(line);
    std::string verb, word;
    in >> verb;
    if (verb != "restart-server") return "error unknown request: " + verb;
    std::map<std::string, std::string> extra;
    while (in >> word) {
      const size_t eq = word.find('=');
      if (eq == std::string::npos || eq == 0) return "error not NAME=VALUE: " + word;
      extra[word.substr(0, eq)] = word.substr(eq + 1);
    }
    try {
      stack_.restart_server(0, extra);
    } catch (const std::exception& e) {
      std::string why = e.what();
      return "error " + why.substr(0, why.find('\n'));
    }
    return "ok";
  }

  amo::test::Stack& stack_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> server_env;
  while (argc >= 3 && std::strcmp(argv[1], "--env") == 0) {
    const std::string kv = argv[2];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "with_stack: --env wants NAME=VALUE, got " << kv << "\n";
      return 2;
    }
    server_env[kv.substr(0, eq)] = kv.substr(eq + 1);
    argv += 2;
    argc -= 2;
  }
  if (argc < 2) {
    std::cerr << "usage: with_stack [--env NAME=VALUE]… <command> [args…]\n";
    return 2;
  }
  install_handlers();

  const char* link_env = std::getenv("APP_DEEP_LINK");
  const std::string deep_link = link_env && *link_env ? link_env : "foryoure://amo-crm/callback";

  std::unique_ptr<amo::test::Stack> stack;
  try {
    amo::test::StackOptions opts;
    opts.env["APP_DEEP_LINK"] = deep_link;
    for (auto& [k, v] : server_env) opts.env[k] = v;
    stack = std::make_unique<amo::test::Stack>(opts);
  } catch (const std::exception& e) {
    std::cerr << "with_stack: the stack did not start: " << e.what() << "\n";
    return 1;
  }
  if (g_signal) return 128 + g_signal;  // ~Stack tears everything down

  for (const char* name :
       {"JWT_SECRET", "AMO_CLIENT_ID", "AMO_CLIENT_SECRET", "DATABASE_URL", "AMO_HTTP_TIMEOUT_MS"})
    ::setenv(name, stack->env.at(name).c_str(), 1);

  ::setenv("BASE_URL", stack->base.c_str(), 1);
  ::setenv("SIM_URL", stack->sim.c_str(), 1);
  ::setenv("APP_JWT", stack->token("browser-user").c_str(), 1);
  ::setenv("APP_DEEP_LINK", deep_link.c_str(), 1);
  ::setenv("AMO_STACK_DIR", stack->dir.c_str(), 1);
  std::unique_ptr<Control> control;
  try {
    control = std::make_unique<Control>(*stack, stack->dir + "/control.sock");
  } catch (const std::exception& e) {
    std::cerr << "with_stack: no control socket: " << e.what() << "\n";
    return 1;
  }
  ::setenv("STACK_CONTROL", (stack->dir + "/control.sock").c_str(), 1);
  std::cerr << "with_stack: BASE_URL=" << stack->base << " SIM_URL=" << stack->sim
            << " AMO_STACK_DIR=" << stack->dir << std::endl;

  const int rc = run_inherited(argv + 1);
  control->stop();  // no restart may race the teardown
  if (rc != 0) {
    std::cerr << "with_stack: command exited with status " << rc << "; stack logs (tail):\n"
              << tail(stack->all_logs(), 12000) << std::endl;
  }
  stack.reset();
  return rc;
}
