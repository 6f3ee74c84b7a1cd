#include "oauth/tokens.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "http/errors.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using http::ApiError;
using http::Err;

namespace {

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

bool fresh(const store::ConnectionRow& r) {
  return r.expires_at && *r.expires_at > now_s() + kRefreshMarginS;
}

void require_usable(const std::optional<store::ConnectionRow>& row) {
  if (!row || !row->has_tokens()) throw ApiError(Err::kNotConnected);
  if (row->needs_reauth) throw ApiError(Err::kReauthRequired);
}

Session to_session(const Context& ctx, const store::ConnectionRow& r) {
  Session s;
  s.user_id = r.user_id;
  s.host = r.domain;
  s.account_id = r.account_id.value_or(0);
  s.access_token = open_access(ctx, r.user_id, *r.access_enc, *r.key_id);
  s.token_version = r.token_version;
  s.expires_at = r.expires_at.value_or(0);
  return s;
}

std::optional<store::ConnectionRow> read_row(Context& ctx, const std::string& user) {
  return ctx.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::get_connection(tx, user);
  });
}

std::string aad(const std::string& user, const char* column) { return user + "|" + column; }

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

Sealed seal(const Context& ctx, const std::string& user, const std::string& access,
            const std::string& refresh) {
  return Sealed{ctx.cipher.encrypt(access, aad(user, "access")),
                ctx.cipher.encrypt(refresh, aad(user, "refresh")), ctx.cipher.current_id()};
}

namespace {
std::string open_token(const Context& ctx, const std::string& user, const std::string& blob,
                       const std::string& key_id, const char* column) {
  try {
    return ctx.cipher.decrypt(blob, key_id, aad(user, column));
  } catch (const crypto::CryptoError&) {
    log::error("stored token cannot be decrypted (key missing or data damaged)",
               [&](json::Writer& w) { json::kv(w, "key_id", key_id); });
    throw ApiError(Err::kReauthRequired, "Stored amoCRM tokens cannot be read; connect again");
  }
}
}  // namespace

std::string open_access(const Context& ctx, const std::string& user, const std::string& blob,
                        const std::string& key_id) {
  return open_token(ctx, user, blob, key_id, "access");
}

std::string open_refresh(const Context& ctx, const std::string& user, const std::string& blob,
                         const std::string& key_id) {
  return open_token(ctx, user, blob, key_id, "refresh");
}

Session session(Context& ctx, const std::string& user) {
  auto row = read_row(ctx, user);
  require_usable(row);
  if (fresh(*row)) return to_session(ctx, *row);
  return refresh(ctx, user, row->token_version, false);
}

Session refresh(Context& ctx, const std::string& user, int64_t seen_version, bool force) {
  enum class Outcome { kDone, kBusy, kRejected };
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(ctx.cfg.amo_http_timeout_ms + 5000);
  for (;;) {
    Session out;
    Outcome outcome = ctx.db.with(
        [&](pqxx::connection& c) {
          pqxx::work tx(c);
          bool locked = false;
          auto row = store::lock_connection_nowait(tx, user, locked);
          if (locked) return Outcome::kBusy;
          require_usable(row);
          // Another worker rotated the pair since we looked: use theirs.
          if ((row->token_version != seen_version || !force) && fresh(*row)) {
            out = to_session(ctx, *row);
            return Outcome::kDone;
          }
          std::string refresh_token = open_refresh(ctx, user, *row->refresh_enc, *row->key_id);
          amo_api::TokenSet t;
          try {
            t = ctx.amo->refresh(row->domain, refresh_token);
          } catch (const amo_api::AmoError& e) {
            if (e.grant_rejected()) {
              // Re-read under our lock already: nobody rotated it, the grant is dead.
              store::mark_needs_reauth(tx, user, row->token_version);
              store::audit(tx, "reauth_required", user, row->account_id,
                           json::write([&](json::Writer& w) {
                             w.StartObject();
                             json::kv(w, "status", static_cast<int64_t>(e.status));
                             json::kv(w, "hint", e.hint);
                             w.EndObject();
                           }));
              tx.commit();
              ctx.metrics.refresh("rejected");
              log::warn("refresh rejected; connection needs re-authorization",
                        [&](json::Writer& w) {
                          json::kv(w, "status", static_cast<int64_t>(e.status));
                          json::kv(w, "hint", e.hint);
                        });
              return Outcome::kRejected;
            }
            ctx.metrics.refresh("transient");
            log::warn("refresh failed (transient); connection unchanged", [&](json::Writer& w) {
              json::kv(w, "status", static_cast<int64_t>(e.status));
              json::kv(w, "error", std::string(e.what()));
            });
            amo_api::rethrow_as_api_error(e);
          }
          Sealed sealed = seal(ctx, user, t.access_token, t.refresh_token);
          int64_t expires_at = now_s() + t.expires_in;
          if (!store::update_tokens(tx, user, row->token_version,
                                    {sealed.access, sealed.refresh, sealed.key_id, expires_at}))
            throw ApiError(Err::kInternal);  // impossible under the row lock
          tx.commit();                       // the new pair is durable before anyone uses it
          ctx.metrics.refresh("ok");
          out.user_id = user;
          out.host = row->domain;
          out.account_id = row->account_id.value_or(0);
          out.access_token = t.access_token;
          out.token_version = row->token_version + 1;
          out.expires_at = expires_at;
          return Outcome::kDone;
        },
        /*retry_stale=*/false);
    if (outcome == Outcome::kDone) return out;
    if (outcome == Outcome::kRejected) throw ApiError(Err::kReauthRequired);
    // A refresh is in flight elsewhere: wait for its result without holding a connection.
    if (std::chrono::steady_clock::now() > deadline)
      throw ApiError(Err::kAmoUnavailable, "A token refresh is still in progress; retry shortly",
                     1);
    sleep_ms(50);
    auto row = read_row(ctx, user);
    require_usable(row);
    if (row->token_version != seen_version && fresh(*row)) {
      ctx.metrics.refresh("waited");
      return to_session(ctx, *row);
    }
  }
}

void pace(Context& ctx, const std::string& host) {
  const int64_t step_ms =
      static_cast<int64_t>(std::ceil(1000.0 / ctx.cfg.amo_rate_limit_rps * 1.2)) + 10;
  const int64_t max_wait = ctx.cfg.amo_rate_limit_max_wait_ms;
  auto wait = ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto w = store::reserve_slot(tx, "amo:" + host, step_ms, max_wait);
    tx.commit();
    return w;
  });
  if (!wait)
    throw ApiError(Err::kRateLimited, "Too many amoCRM requests for this account; retry later",
                   static_cast<int>(std::max<int64_t>(1, (max_wait + 999) / 1000)));
  if (*wait > 0) sleep_ms(*wait);
}

amo_api::ApiResponse api_get(Context& ctx, const std::string& user,
                             const std::string& path_and_query, const char* label) {
  Session s = session(ctx, user);
  bool refreshed = false, retried_429 = false;
  for (;;) {
    pace(ctx, s.host);
    amo_api::ApiResponse r;
    try {
      r = ctx.amo->get(s.host, path_and_query, s.access_token, label);
    } catch (const amo_api::AmoError& e) {
      amo_api::rethrow_as_api_error(e);
    }
    if (r.status == 401 && !refreshed) {
      refreshed = true;
      s = refresh(ctx, user, s.token_version, /*force=*/true);
      continue;
    }
    if (r.status == 429 && !retried_429) {
      retried_429 = true;
      int wait_s = std::min(r.retry_after.value_or(1), 3);
      sleep_ms(static_cast<int64_t>(wait_s) * 1000);
      continue;
    }
    if (r.status == 401) throw ApiError(Err::kAmoError, "amoCRM refused a freshly refreshed token");
    if (r.status == 429) throw ApiError(Err::kAmoRateLimited, {}, r.retry_after.value_or(1));
    if (r.status == 403) throw ApiError(Err::kForbidden, "amoCRM refused access to this account");
    if (r.status == 503) throw ApiError(Err::kAmoUnavailable, {}, r.retry_after.value_or(5));
    if (r.status >= 500) throw ApiError(Err::kAmoError);
    return r;
  }
}

}  // namespace amo::oauth
