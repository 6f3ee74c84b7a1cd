#pragma once
#include <string>
#include <utility>
#include <vector>

namespace amo::http {

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  Response& set_header(std::string name, std::string value);
  const std::string* header(std::string_view name) const;  // case-insensitive

  // {"success":true,"data":<data_json>} — data_json must be a JSON value written by RapidJSON.
  static Response ok(const std::string& data_json, int status = 200);
  // Raw JSON body (already a complete document).
  static Response json(int status, std::string body);
  static Response html(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type);
};

const char* reason_phrase(int status);

}  // namespace amo::http
