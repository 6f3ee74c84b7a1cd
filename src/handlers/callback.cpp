// GET …/callback — amoCRM's redirect target (browser: HTML page; from_exchange=1: JSON).
// The code is exchanged and the tokens stored before any page is rendered.
#include "handlers/handlers.hpp"
#include "http/errors.hpp"
#include "oauth/connect.hpp"
#include "render/pages.hpp"
#include "store/repo.hpp"
#include "util/json.hpp"

namespace amo::handlers {

using http::ApiError;
using http::Err;

namespace {

constexpr size_t kMaxParam = 1024;

// The user a state belongs to, consuming it with this code. A state already consumed by
// this same code whose user holds the connection made from it is a reload: `reload` set.
std::string consume(Context& ctx, const std::string& state, const std::string& code, bool& reload) {
  const std::string sh = oauth::digest(state), ch = oauth::digest(code);
  return ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    if (auto s = store::consume_state(tx, sh, ch)) {
      tx.commit();
      reload = false;
      return s->user_id;
    }
    auto s = store::get_state(tx, sh);
    if (s && s->consumed && s->code_hash == ch) {
      auto by_code = store::find_by_code(tx, ch);
      if (by_code && by_code->user_id == s->user_id) {
        reload = true;
        return s->user_id;
      }
    }
    throw ApiError(Err::kInvalidState);
  });
}

void give_back(Context& ctx, const std::string& state, const std::string& code) {
  try {
    ctx.db.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      store::release_state(tx, oauth::digest(state), oauth::digest(code));
      tx.commit();
    });
  } catch (const std::exception&) {
  }
}

void run_callback(const Request& req, Context& ctx, const std::string& state) {
  auto error = req.param("error");
  auto code = req.param("code");
  auto client_id = req.param("client_id");
  auto referer = req.param("referer");
  if (error) throw ApiError(Err::kAccessDenied);
  if (client_id && *client_id != ctx.cfg.amo_client_id) throw ApiError(Err::kInvalidClient);
  if (!code || code->empty()) throw ApiError(Err::kMissingCode);
  if (code->size() > kMaxParam) throw ApiError(Err::kExchangeFailed);
  if (state.empty() || state.size() > kMaxParam) throw ApiError(Err::kInvalidState);
  // The token endpoint host comes from `referer`: check it before anything leaves.
  std::string host = ctx.cfg.amo_domain;
  if (referer) {
    if (!oauth::host_allowed(*referer, ctx.cfg.amo_allowed_domains))
      throw ApiError(Err::kInvalidReferer);
    host = *referer;
  }
  bool reload = false;
  std::string user = consume(ctx, state, *code, reload);
  if (reload) return;
  try {
    oauth::redeem_code(ctx, user, *code, host);
  } catch (const ApiError& e) {
    // A transient failure leaves the state usable: reloading the page tries again.
    if (e.err() != Err::kExchangeFailed && e.err() != Err::kAccountNotAllowed)
      give_back(ctx, state, *code);
    if (e.status() >= 500 || e.err() == Err::kAmoRateLimited || e.err() == Err::kRateLimited)
      throw ApiError(Err::kExchangeFailed);
    throw;
  }
}

}  // namespace

Response callback(const Request& req, Context& ctx) {
  const bool json_mode = req.param("from_exchange").value_or("") == "1";
  std::string state = req.param("state").value_or("");
  try {
    run_callback(req, ctx, state);
  } catch (const ApiError& e) {
    if (json_mode || !ctx.pages) throw;
    // Only a state of sane size is echoed back into the deep link.
    std::string echo = state.size() <= kMaxParam ? state : std::string();
    auto page =
        ctx.pages->error(render::choose_language(req.header("accept-language").value_or("")),
                         ctx.cfg.app_deep_link, e.code(), echo);
    Response r = Response::html(e.status(), std::move(page.html));
    for (auto& [k, v] : ctx.pages->headers()) r.set_header(k, v);
    return r;
  }
  if (json_mode) {
    return Response::json(200, json::write([](json::Writer& w) {
                            w.StartObject();
                            json::kv(w, "success", true);
                            json::kv(w, "message", "AMO CRM successfully connected");
                            json::kv(w, "status", "success");
                            json::kv(w, "fromExchange", true);
                            w.EndObject();
                          }));
  }
  auto page =
      ctx.pages->success(render::choose_language(req.header("accept-language").value_or("")),
                         ctx.cfg.app_deep_link, state);
  Response r = Response::html(page.status, std::move(page.html));
  for (auto& [k, v] : ctx.pages->headers()) r.set_header(k, v);
  return r;
}

}  // namespace amo::handlers
