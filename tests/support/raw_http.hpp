#pragma once
// A raw HTTP/1.x client over a TCP socket, for the requests libcurl will not send: malformed
// request lines, doubled headers, broken chunked bodies, requests sent in parts and left
// unfinished. The request goes out byte for byte as given; one response is read back.
#include <string>

#include "support/http_client.hpp"

namespace amo::test {

struct RawResponse : HttpResult {
  std::string raw;         // every byte received
  bool closed = false;     // the server closed (or reset) the connection
  bool timed_out = false;  // the deadline passed before a whole response or the close
};

class RawConnection {
 public:
  // `base`: "http://127.0.0.1:PORT" (Stack::base).
  explicit RawConnection(const std::string& base);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends the bytes as they are (a server that already closed is not an error: its answer
  // may still be waiting to be read).
  void send(const std::string& bytes);
  // Reads one response: the status line and headers, then Content-Length bytes of body (or
  // everything up to the close). Returns early when the server closes the connection, and
  // at the latest after timeout_ms.
  RawResponse read_response(int timeout_ms);

 private:
  int fd_ = -1;
};

// One request on a fresh connection.
RawResponse raw_http(const std::string& base, const std::string& request, int timeout_ms = 10000);

}  // namespace amo::test
