#pragma once
// One function per endpoint; the shape is Response(const Request&, Context&).
#include "app/context.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace amo::handlers {

using http::Request;
using http::Response;

Response healthz(const Request&, Context&);
Response readyz(const Request&, Context&);
Response metrics(const Request&, Context&);
Response status(const Request&, Context&);

}  // namespace amo::handlers
