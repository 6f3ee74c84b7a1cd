#include "http/fcgi_server.hpp"

#include <fcgiapp.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/text.hpp"

namespace amo::http {

namespace {

std::string param(FCGX_ParamArray envp, const char* name) {
  const char* v = FCGX_GetParam(name, envp);
  return v ? std::string(v) : std::string();
}

// "HTTP_X_REQUEST_ID" → "x-request-id"
std::string header_name(const char* env_name, size_t len) {
  std::string out(env_name, len);
  for (char& c : out) c = c == '_' ? '-' : core::ascii_lower(c);
  return out;
}

void read_request(FCGX_Request& fr, Request& req, bool& too_large) {
  req.method = param(fr.envp, "REQUEST_METHOD");
  std::string uri = param(fr.envp, "REQUEST_URI");
  if (uri.empty()) uri = param(fr.envp, "DOCUMENT_URI");
  auto q = uri.find('?');
  req.path = uri.substr(0, q);
  req.query = q == std::string::npos ? param(fr.envp, "QUERY_STRING") : uri.substr(q + 1);
  req.remote_addr = param(fr.envp, "REMOTE_ADDR");
  for (char** p = fr.envp; p && *p; ++p) {
    const char* kv = *p;
    const char* eq = std::strchr(kv, '=');
    if (!eq) continue;
    if (std::strncmp(kv, "HTTP_", 5) == 0) {
      req.headers[header_name(kv + 5, eq - kv - 5)] = eq + 1;
    }
  }
  std::string ct = param(fr.envp, "CONTENT_TYPE");
  if (!ct.empty()) req.headers["content-type"] = ct;
  // nginx's $request_id; anything else is dropped rather than echoed into a header or log.
  if (auto id = req.header("x-request-id")) {
    if (!id->empty() && id->size() <= 64 &&
        id->find_first_not_of("0123456789abcdefABCDEF-_.") == std::string::npos)
      req.request_id = *id;
  }

  std::string cl = param(fr.envp, "CONTENT_LENGTH");
  unsigned long long len = 0;
  if (!cl.empty()) {
    char* end = nullptr;
    errno = 0;
    len = std::strtoull(cl.c_str(), &end, 10);
    if (errno || *end != '\0' || cl[0] == '-') len = kMaxBodyBytes + 1;
  }
  if (len > kMaxBodyBytes) {
    too_large = true;
    return;
  }
  req.body.resize(static_cast<size_t>(len));
  size_t got = 0;
  while (got < len) {
    int n = FCGX_GetStr(req.body.data() + got, static_cast<int>(len - got), fr.in);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  req.body.resize(got);
}

void write_response(FCGX_Request& fr, const Response& r, bool head) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out += "Status: ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\n";
  for (auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  // A Content-Length set by the handler is kept (the simulator's truncated transfers).
  if (!r.header("Content-Length")) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (!head) out += r.body;
  FCGX_PutStr(out.data(), static_cast<int>(out.size()), fr.out);
}

}  // namespace

int FcgiServer::open_listen_socket(const std::string& spec) {
  static const bool inited = [] { return FCGX_Init() == 0; }();
  if (!inited) throw std::runtime_error("FCGX_Init failed");
  int n = sd_listen_fds(0);
  if (n >= 1) return SD_LISTEN_FDS_START;  // systemd socket activation wins
  if (spec.empty())
    throw std::runtime_error("FCGI_SOCKET is empty and no socket was passed by systemd");
  // The socket is made here, not by FCGX_OpenSocket: libfcgi prints a bare "bind/listen"
  // and exits the process when bind fails; this says what is wrong instead.
  const bool is_unix = spec.find('/') != std::string::npos;
  int fd = -1;
  auto fail = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on FCGI_SOCKET " + spec + ": " + why);
  };
  if (is_unix) {
    sockaddr_un sa{};
    if (spec.size() >= sizeof(sa.sun_path)) fail("the path is too long");
    std::string dir = spec.substr(0, spec.rfind('/'));
    struct stat st {};
    if (!dir.empty() && (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
      fail("directory " + dir + " does not exist");
    ::unlink(spec.c_str());
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, spec.c_str(), spec.size() + 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      fail(std::strerror(errno));
  } else {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos) fail("expected a unix socket path or host:port");
    std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) fail(gai_strerror(rc));
    fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool bound = fd >= 0 && ::bind(fd, res->ai_addr, res->ai_addrlen) == 0;
    int err = errno;
    ::freeaddrinfo(res);
    if (!bound) fail(std::strerror(err));
  }
  if (::listen(fd, 1024) != 0) fail(std::strerror(errno));
  if (is_unix) ::chmod(spec.c_str(), 0660);
  return fd;
}

FcgiServer::FcgiServer(int listen_fd, int threads, Dispatch dispatch)
    : listen_fd_(listen_fd), threads_(threads), dispatch_(std::move(dispatch)) {}

void FcgiServer::worker(size_t index) {
  struct Alive {
    std::atomic<int>& n;
    ~Alive() { n.fetch_sub(1); }
  } alive{alive_};  // counted down however the worker ends
  FCGX_Request fr;
  if (FCGX_InitRequest(&fr, listen_fd_, FCGI_FAIL_ACCEPT_ON_INTR) != 0) return;
  while (!stopping_.load()) {
    idle_[index].store(true);
    int rc = stopping_.load() ? -1 : FCGX_Accept_r(&fr);
    idle_[index].store(false);
    if (rc < 0) {
      if (stopping_.load()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(errno == EINTR ? 0 : 10));
      continue;
    }
    in_flight_.fetch_add(1);
    Request req;
    bool too_large = false;
    read_request(fr, req, too_large);
    Response resp = dispatch_(req, too_large);
    write_response(fr, resp, req.method == "HEAD");
    FCGX_Finish_r(&fr);
    in_flight_.fetch_sub(1);
  }
  FCGX_Free(&fr, 1);
}

FcgiServer::Stopped FcgiServer::run(int grace_s) {
  // SIGUSR1 interrupts a worker's accept (no SA_RESTART) so it can see stopping_.
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(SIGUSR1, &sa, nullptr);

  idle_ = std::make_unique<std::atomic<bool>[]>(static_cast<size_t>(threads_));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads_));
  alive_.store(threads_);
  for (int i = 0; i < threads_; ++i)
    pool.emplace_back([this, i] { worker(static_cast<size_t>(i)); });
  while (!stopping_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Stop accepting: wake the idle workers (again and again: one may be just entering
  // accept); busy ones finish their request first. Bounded by the grace period.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
  while (alive_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < threads_; ++i)
      if (idle_[static_cast<size_t>(i)].load())
        ::pthread_kill(pool[static_cast<size_t>(i)].native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Stopped result = alive_.load() == 0 ? Stopped::kClean : Stopped::kTimedOut;
  // Stragglers are inside a request (bounded by its own timeouts); keep waking any that
  // return to accept, and join them all.
  while (alive_.load() > 0) {
    for (int i = 0; i < threads_; ++i)
      if (idle_[static_cast<size_t>(i)].load())
        ::pthread_kill(pool[static_cast<size_t>(i)].native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : pool) t.join();
  return result;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

FcgiServer::Stopped serve_until_signal(FcgiServer& server, int grace_s,
                                       const std::function<void(int)>& on_signal) {
  std::thread waiter([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int signo = 0;
    sigwait(&set, &signo);
    if (on_signal) on_signal(signo);
    server.request_stop();
  });
  FcgiServer::Stopped how = server.run(grace_s);  // returns only after request_stop()
  waiter.join();
  return how;
}

void FcgiServer::request_stop() {
  stopping_.store(true);
  FCGX_ShutdownPending();
}

}  // namespace amo::http
