#pragma once
// Routes a request to its handler with one catch per request: no input can kill a worker.
// Every failure becomes a core::Error and is answered through the one error table.
#include "app/context.hpp"
#include "http/router.hpp"

namespace amo {

class Metrics;

class App {
 public:
  explicit App(Context& ctx);
  // Never throws. `too_large`: the body exceeded the 64 KiB limit and was not read.
  http::Response handle(http::Request& req, bool too_large);
  const http::Router& router() const { return router_; }

 private:
  Context& ctx_;
  http::Router router_;
};

// Every route of the service, with `ctx` bound to its handlers.
void register_routes(http::Router& r, Context& ctx);

}  // namespace amo
