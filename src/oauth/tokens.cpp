#include "oauth/tokens.hpp"

#include <chrono>
#include <thread>

#include "amo/client.hpp"
#include "app/metrics.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/log.hpp"

namespace amo::oauth {

using core::Error;
using core::Fault;

namespace {

bool fresh(const store::ConnectionRow& r) {
  return r.expires_at && *r.expires_at > core::now_s() + kRefreshMarginS;
}

void require_usable(const std::optional<store::ConnectionRow>& row) {
  if (!row || !row->has_tokens()) throw Error(Fault::kNotConnected);
  if (row->needs_reauth) throw Error(Fault::kReauthRequired);
}

// The one spelling of the additional authenticated data of a token column.
std::string aad(const std::string& user, const char* column) { return user + "|" + column; }

std::string open_one(const Services& svc, const std::string& user, const std::string& blob,
                     const std::string& key_id, const char* column) {
  try {
    return svc.cipher.decrypt(blob, key_id, aad(user, column));
  } catch (const crypto::CryptoError&) {
    log::error("stored token cannot be decrypted (key missing or data damaged)",
               [&](json::Writer& w) { json::kv(w, "key_id", key_id); });
    throw Error(Fault::kReauthRequired, "Stored amoCRM tokens cannot be read; connect again");
  }
}

Session to_session(const Services& svc, const store::ConnectionRow& r) {
  Session s;
  s.user_id = r.user_id;
  s.host = r.domain;
  s.account_id = r.account_id.value_or(0);
  s.access_token = open_one(svc, r.user_id, *r.access_enc, *r.key_id, "access");
  s.token_version = r.token_version;
  s.expires_at = r.expires_at.value_or(0);
  return s;
}

std::optional<store::ConnectionRow> read_row(Services& svc, const std::string& user) {
  return svc.db.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);  // one statement: no BEGIN/COMMIT round trips
    return store::get_connection(tx, user);
  });
}

}  // namespace

Sealed seal(const crypto::TokenCipher& cipher, const std::string& user, const std::string& access,
            const std::string& refresh) {
  return Sealed{cipher.encrypt(access, aad(user, "access")),
                cipher.encrypt(refresh, aad(user, "refresh")), cipher.current_id()};
}

Sealed seal(const Services& svc, const std::string& user, const std::string& access,
            const std::string& refresh) {
  return seal(svc.cipher, user, access, refresh);
}

Opened open(const Services& svc, const std::string& user, const std::string& access_blob,
            const std::string& refresh_blob, const std::string& key_id) {
  return Opened{open_one(svc, user, access_blob, key_id, "access"),
                open_one(svc, user, refresh_blob, key_id, "refresh")};
}

Session session(Services& svc, const std::string& user) {
  auto row = read_row(svc, user);
  require_usable(row);
  if (fresh(*row)) return to_session(svc, *row);
  return refresh(svc, user, row->token_version, false);
}

Session refresh(Services& svc, const std::string& user, int64_t seen_version, bool force) {
  enum class Outcome { kDone, kBusy, kRejected };
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(svc.cfg.amo_http_timeout_ms + 5000);
  for (;;) {
    Session out;
    Outcome outcome = svc.db.with(
        [&](pqxx::connection& c) {
          pqxx::work tx(c);
          bool locked = false;
          auto row = store::lock_connection_nowait(tx, user, locked);
          if (locked) return Outcome::kBusy;
          require_usable(row);
          // Another worker rotated the pair since we looked: use theirs.
          if ((row->token_version != seen_version || !force) && fresh(*row)) {
            out = to_session(svc, *row);
            return Outcome::kDone;
          }
          std::string refresh_token =
              open_one(svc, user, *row->refresh_enc, *row->key_id, "refresh");
          amo_api::TokenSet t;
          try {
            t = svc.amo.refresh(row->domain, refresh_token);
          } catch (const amo_api::AmoError& e) {
            if (e.grant_rejected()) {
              // Re-read under our lock already: nobody rotated it, the grant is dead.
              store::mark_needs_reauth(tx, user, row->token_version);
              store::clear_user_store(tx, user);  // nothing stored is served to it any more
              store::audit(tx, "reauth_required", user, row->account_id,
                           json::write([&](json::Writer& w) {
                             w.StartObject();
                             json::kv(w, "status", static_cast<int64_t>(e.status));
                             json::kv(w, "hint", e.hint);
                             w.EndObject();
                           }));
              tx.commit();
              svc.metrics.refresh("rejected");
              log::warn("refresh rejected; connection needs re-authorization",
                        [&](json::Writer& w) {
                          json::kv(w, "status", static_cast<int64_t>(e.status));
                          json::kv(w, "hint", e.hint);
                        });
              return Outcome::kRejected;
            }
            svc.metrics.refresh("transient");
            log::warn("refresh failed (transient); connection unchanged", [&](json::Writer& w) {
              json::kv(w, "status", static_cast<int64_t>(e.status));
              json::kv(w, "error", e.detail);
            });
            throw;
          }
          Sealed sealed = seal(svc, user, t.access_token, t.refresh_token);
          int64_t expires_at = core::now_s() + t.expires_in;
          if (!store::update_tokens(tx, user, row->token_version,
                                    {sealed.access, sealed.refresh, sealed.key_id, expires_at}))
            throw Error(Fault::kInternal);  // impossible under the row lock
          tx.commit();                      // the new pair is durable before anyone uses it
          svc.metrics.refresh("ok");
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
    if (outcome == Outcome::kRejected) throw Error(Fault::kReauthRequired);
    // A refresh is in flight elsewhere: wait for its result without holding a connection.
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(Fault::kAmoUnavailable, "A token refresh is still in progress; retry shortly", 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto row = read_row(svc, user);
    require_usable(row);
    if (row->token_version != seen_version && fresh(*row)) {
      svc.metrics.refresh("waited");
      return to_session(svc, *row);
    }
  }
}

}  // namespace amo::oauth
