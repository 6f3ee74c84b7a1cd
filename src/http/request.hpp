#pragma once
// The HTTP request as handlers see it: no FastCGI types, easy to build in tests.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace amo::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // raw path, without the query string
  std::string query;                           // raw query string (no leading '?')
  std::map<std::string, std::string> headers;  // lower-case names: "content-type"
  std::string body;
  std::string remote_addr;
  std::string request_id;  // from X-Request-Id (nginx $request_id) or generated

  // Header by lower-case name.
  std::optional<std::string> header(std::string_view lower_name) const;
  // First query parameter with this name, percent-decoded ('+' is a space).
  std::optional<std::string> param(std::string_view name) const;
  // All query parameters, decoded; a repeated name keeps its first value.
  std::map<std::string, std::string> params() const;
};

// A query string (or form body) → decoded (name, value) pairs, repeats kept, in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);

// Percent-decoding of one query component ('+' → space). Invalid escapes are kept as is.
std::string url_decode(std::string_view s);
// Percent-encoding of one URL component (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);

}  // namespace amo::http
