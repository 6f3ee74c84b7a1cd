#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace amo::test {

namespace {
// Parses the status line and headers of `raw` (up to `head_end`) into `r`.
void parse_head(const std::string& raw, size_t head_end, RawResponse& r) {
  size_t eol = raw.find("\r\n");
  std::string status_line = raw.substr(0, eol);
  size_t sp = status_line.find(' ');
  if (status_line.rfind("HTTP/", 0) == 0 && sp != std::string::npos)
    r.status = std::strtol(status_line.c_str() + sp + 1, nullptr, 10);
  size_t pos = eol + 2;
  while (pos < head_end) {
    size_t next = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    r.headers[k] = v;
  }
}
}  // namespace

RawConnection::RawConnection(const std::string& base) {
  size_t colon = base.rfind(':');
  int port = std::stoi(base.substr(colon + 1));
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to " + base + " failed");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EPIPE/ECONNRESET: the server has answered and closed
    off += static_cast<size_t>(n);
  }
}

RawResponse RawConnection::read_response(int timeout_ms) {
  RawResponse r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t head_end = std::string::npos;
  long content_length = -1;
  for (;;) {
    if (head_end != std::string::npos && content_length >= 0 &&
        r.raw.size() >= head_end + 4 + static_cast<size_t>(content_length))
      break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;  // the deadline check above ends the loop
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // orderly close, or a reset after the server closed with unread input
      r.closed = true;
      break;
    }
    r.raw.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = r.raw.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        parse_head(r.raw, head_end, r);
        std::string cl = r.header("content-length");
        if (!cl.empty()) content_length = std::strtol(cl.c_str(), nullptr, 10);
      }
    }
  }
  if (head_end != std::string::npos) {
    r.body = r.raw.substr(head_end + 4);
    if (content_length >= 0 && r.body.size() > static_cast<size_t>(content_length))
      r.body.resize(static_cast<size_t>(content_length));
  }
  return r;
}

RawResponse raw_http(const std::string& base, const std::string& request, int timeout_ms) {
  RawConnection c(base);
  c.send(request);
  return c.read_response(timeout_ms);
}

}  // namespace amo::test
