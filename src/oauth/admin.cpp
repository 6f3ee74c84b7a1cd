#include "oauth/admin.hpp"

#include "core/error.hpp"
#include "oauth/tokens.hpp"
#include "store/pool.hpp"
#include "store/repo.hpp"
#include "util/json.hpp"

namespace amo::oauth {

using core::Error;
using core::Fault;

namespace {

Event to_event(const store::AuditRow& r) {
  return Event{r.at, r.event, r.account_id, r.detail_json};
}

}  // namespace

ListResult list_connections(Services& svc, const ListFilter& filter, int limit) {
  store::ConnectionFilter f{filter.needs_reauth_only, filter.host, filter.stale_days};
  auto rows = svc.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::list_connections(tx, f, int64_t(limit) + 1);  // one more: truncated?
  });
  ListResult out;
  out.truncated = rows.size() > static_cast<size_t>(limit);
  if (out.truncated) rows.resize(static_cast<size_t>(limit));
  for (auto& r : rows) out.connections.push_back(Listed{r.user_id, to_status(r.status)});
  return out;
}

Report show_connection(Services& svc, const std::string& user) {
  return svc.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);  // one snapshot: the status and the events agree
    Report r;
    if (auto row = store::get_status(tx, user)) r.status = to_status(*row);
    if (auto e = store::last_failure_of_user(tx, user)) r.last_error = to_event(*e);
    for (auto& e : store::audit_of_user(tx, user, kShowEvents)) r.events.push_back(to_event(e));
    return r;
  });
}

int64_t force_refresh(Services& svc, const std::string& user, const char* actor) {
  auto row = svc.db.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return store::get_connection(tx, user);
  });
  if (!row || !row->has_tokens()) throw Error(Fault::kNotConnected);
  if (row->needs_reauth) throw Error(Fault::kReauthRequired);
  Session s;
  try {
    s = refresh(svc, user, row->token_version, /*force=*/true);
  } catch (const Error& e) {
    // The connection was usable a moment ago. Marked now: amoCRM rejected the grant (this
    // refresh's or a concurrent one's) and refresh() marked it and audited reauth_required.
    // Not marked: the stored tokens cannot be decrypted (the error says so).
    if (e.fault() == Fault::kReauthRequired && status(svc, user).needs_reauth)
      throw RefreshRejected("refresh rejected");
    throw;
  }
  svc.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    store::audit(tx, "refresh", user, row->account_id, json::write([&](json::Writer& w) {
                   w.StartObject();
                   json::kv(w, "actor", actor);
                   w.EndObject();
                 }));
    tx.commit();
  });
  return s.expires_at;
}

}  // namespace amo::oauth
