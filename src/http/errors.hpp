#pragma once
// The one table: every core::Fault → HTTP status, public code and default text. Only
// http/ and app/ include this file; every other layer throws core::Error.
#include <string>

#include "core/error.hpp"

namespace amo::http {

struct Response;

struct ErrInfo {
  int status;
  const char* code;
  const char* message;  // default public message
};

const ErrInfo& info(core::Fault f);

// {"success":false,"error":{"code":…,"message":…}} with the table's status and the headers
// the status needs (Retry-After for 429/503, WWW-Authenticate for 401).
Response error_response(const core::Error& e);
Response error_response(core::Fault f, const std::string& message = {});

}  // namespace amo::http
