#pragma once
// One function per endpoint: parse the request → one domain call → serialize. No SQL, no
// transactions, no amoCRM details; failures are thrown as core::Error.
#include "app/context.hpp"
#include "http/error_view.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace amo::handlers {

using http::Request;
using http::Response;

Response healthz(const Request&, Context&);
Response readyz(const Request&, Context&);
Response metrics(const Request&, Context&);
Response status(const Request&, Context&);
Response auth_url(const Request&, Context&);
Response callback(const Request&, Context&);
// The callback's failures as its HTML page (or JSON with from_exchange=1).
Response callback_error(const Request&, Context&, http::ErrorView);
Response exchange_code(const Request&, Context&);
Response disconnect(const Request&, Context&);
Response disconnect_hook(const Request&, Context&);
Response leads(const Request&, Context&);
Response pipelines(const Request&, Context&);
Response test(const Request&, Context&);
Response exchange_api_key(const Request&, Context&);

}  // namespace amo::handlers
