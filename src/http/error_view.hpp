#pragma once
// What a route's own error renderer is told about a failure (the callback shows an HTML
// page instead of the JSON envelope): the fault and what the one table made of it.
#include "core/error.hpp"
#include "http/response.hpp"

namespace amo::http {

struct ErrorView {
  core::Fault fault;
  int status;
  const char* code;
  Response json;  // the JSON answer the table produced (status, Retry-After, …)
};

}  // namespace amo::http
