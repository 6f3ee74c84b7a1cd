// GET …/leads, GET …/pipelines, GET …/test, POST …/exchange-api-key
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "amo/client.hpp"
#include "auth/auth.hpp"
#include "crypto/crypto.hpp"
#include "handlers/handlers.hpp"
#include "http/errors.hpp"
#include "oauth/connect.hpp"
#include "oauth/tokens.hpp"
#include "store/repo.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace amo::handlers {

using http::ApiError;
using http::Err;

namespace {

[[noreturn]] void bad(const std::string& name, const std::string& why) {
  throw ApiError(Err::kInvalidParameter, "Parameter '" + name + "' " + why);
}

std::optional<int64_t> int_param(const Request& req, const char* name, int64_t lo, int64_t hi) {
  auto v = req.param(name);
  if (!v) return std::nullopt;
  if (v->empty() || v->size() > 18 || v->find_first_not_of("0123456789") != std::string::npos)
    bad(name, "must be a whole number");
  int64_t n = std::stoll(*v);
  if (n < lo || n > hi)
    bad(name, "must be from " + std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

// ISO 8601 date or date-time (Z or ±hh:mm), or unix seconds.
std::optional<int64_t> parse_time(const std::string& s) {
  if (!s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(s);
  int Y, M, D, h = 0, m = 0, sec = 0;
  char rest[64] = {0};
  if (s.size() > 40) return std::nullopt;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2d%63s", &Y, &M, &D, rest);
  if (n < 3 || s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  std::string r = n == 4 ? rest : "";
  int64_t offset = 0;
  if (!r.empty()) {
    if (r[0] != 'T' && r[0] != 't') return std::nullopt;
    int used = 0;
    if (std::sscanf(r.c_str() + 1, "%2d:%2d:%2d%n", &h, &m, &sec, &used) != 3 || used != 8)
      return std::nullopt;
    std::string tz = r.substr(9);
    if (!tz.empty() && tz[0] == '.') {
      size_t i = 1;
      while (i < tz.size() && std::isdigit(static_cast<unsigned char>(tz[i]))) ++i;
      if (i == 1) return std::nullopt;
      tz = tz.substr(i);
    }
    if (tz == "Z" || tz == "z") {
    } else if (tz.size() == 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == ':') {
      int oh, om;
      if (std::sscanf(tz.c_str() + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
        return std::nullopt;
      offset = (oh * 3600 + om * 60) * (tz[0] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  std::tm check = tm;
  time_t t = timegm(&tm);
  if (tm.tm_mday != check.tm_mday) return std::nullopt;  // 2025-02-31
  return static_cast<int64_t>(t) - offset;
}

std::optional<int64_t> member_int(const rapidjson::Value& o, const char* k) {
  auto it = o.FindMember(k);
  if (it == o.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

// A string member as JSON (embedded NULs kept), or null.
void str_or_null(json::Writer& w, const rapidjson::Value& o, const char* key) {
  w.Key(key);
  auto it = o.FindMember(key);
  if (it != o.MemberEnd() && it->value.IsString())
    json::str(w, std::string_view(it->value.GetString(), it->value.GetStringLength()));
  else
    w.Null();
}

void int_or_null(json::Writer& w, const char* key, const std::optional<int64_t>& v) {
  w.Key(key);
  if (v)
    w.Int64(*v);
  else
    w.Null();
}

void time_or_null(json::Writer& w, const char* key, const std::optional<int64_t>& v) {
  w.Key(key);
  if (v && *v > 0)
    json::str(w, log::iso8601(*v));
  else
    w.Null();
}

rapidjson::Document parse_amo(const amo_api::ApiResponse& r) {
  rapidjson::Document d;
  if (!json::try_parse(r.body, d) || !d.IsObject())
    throw ApiError(Err::kAmoError, "amoCRM sent an answer that could not be read");
  return d;
}

void require_ok(const amo_api::ApiResponse& r) {
  if (r.status == 200 || r.status == 204) return;
  throw ApiError(Err::kAmoError, "amoCRM answered with status " + std::to_string(r.status));
}

}  // namespace

Response leads(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  int64_t page = int_param(req, "page", 1, 100000).value_or(1);
  int64_t limit = int_param(req, "limit", 1, 250).value_or(50);
  auto pipeline = int_param(req, "pipeline_id", 1, INT64_C(999999999999));
  auto status = int_param(req, "status_id", 1, INT64_C(999999999999));
  auto responsible = int_param(req, "responsible_user_id", 1, INT64_C(999999999999));
  if (status && !pipeline) bad("status_id", "needs pipeline_id");
  std::string q = "/api/v4/leads?page=" + std::to_string(page) + "&limit=" + std::to_string(limit);
  if (auto query = req.param("query")) {
    if (query->size() > 200) bad("query", "must be at most 200 characters");
    if (!query->empty()) q += "&query=" + http::url_encode(*query);
  }
  if (status) {
    q += "&filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=" + std::to_string(*pipeline) +
         "&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=" + std::to_string(*status);
  } else if (pipeline) {
    q += "&filter%5Bpipeline_id%5D=" + std::to_string(*pipeline);
  }
  if (responsible) q += "&filter%5Bresponsible_user_id%5D=" + std::to_string(*responsible);
  std::optional<int64_t> from, to;
  for (auto [name, out] : {std::pair{"created_from", &from}, std::pair{"created_to", &to}}) {
    if (auto v = req.param(name)) {
      *out = parse_time(*v);
      if (!*out) bad(name, "must be an ISO 8601 date-time or unix seconds");
    }
  }
  if (from && to && *from > *to) bad("created_from", "must not be after created_to");
  if (from) q += "&filter%5Bcreated_at%5D%5Bfrom%5D=" + std::to_string(*from);
  if (to) q += "&filter%5Bcreated_at%5D%5Bto%5D=" + std::to_string(*to);
  std::string order = req.param("order").value_or("created_at:desc");
  {
    auto colon = order.find(':');
    std::string field = order.substr(0, colon);
    std::string dir = colon == std::string::npos ? "desc" : order.substr(colon + 1);
    if (field != "created_at" && field != "updated_at" && field != "id")
      bad("order", "must be created_at, updated_at or id, optionally with :asc or :desc");
    if (dir != "asc" && dir != "desc") bad("order", "direction must be asc or desc");
    q += "&order%5B" + field + "%5D=" + dir;
  }

  auto r = oauth::api_get(ctx, user, q, "api/v4/leads");
  require_ok(r);
  std::string data = json::write([&](json::Writer& w) {
    w.StartObject();
    w.Key("leads");
    w.StartArray();
    bool more = false;
    if (r.status == 200 && !r.body.empty()) {
      auto d = parse_amo(r);
      auto emb = d.FindMember("_embedded");
      if (emb != d.MemberEnd() && emb->value.IsObject()) {
        auto arr = emb->value.FindMember("leads");
        if (arr != emb->value.MemberEnd() && arr->value.IsArray()) {
          for (auto& l : arr->value.GetArray()) {
            if (!l.IsObject()) continue;
            w.StartObject();
            int_or_null(w, "id", member_int(l, "id"));
            str_or_null(w, l, "name");
            int_or_null(w, "price", member_int(l, "price"));
            int_or_null(w, "statusId", member_int(l, "status_id"));
            int_or_null(w, "pipelineId", member_int(l, "pipeline_id"));
            int_or_null(w, "responsibleUserId", member_int(l, "responsible_user_id"));
            time_or_null(w, "createdAt", member_int(l, "created_at"));
            time_or_null(w, "updatedAt", member_int(l, "updated_at"));
            time_or_null(w, "closedAt", member_int(l, "closed_at"));
            w.EndObject();
          }
        }
      }
      auto links = d.FindMember("_links");
      more = links != d.MemberEnd() && links->value.IsObject() && links->value.HasMember("next");
    }
    w.EndArray();
    json::kv(w, "page", page);
    json::kv(w, "limit", limit);
    json::kv(w, "hasMore", more);
    w.EndObject();
  });
  return Response::ok(data);
}

Response pipelines(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto r = oauth::api_get(ctx, user, "/api/v4/leads/pipelines", "api/v4/leads/pipelines");
  require_ok(r);
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    w.Key("pipelines");
    w.StartArray();
    if (r.status == 200 && !r.body.empty()) {
      auto d = parse_amo(r);
      auto emb = d.FindMember("_embedded");
      if (emb != d.MemberEnd() && emb->value.IsObject() && emb->value.HasMember("pipelines") &&
          emb->value["pipelines"].IsArray()) {
        for (auto& p : emb->value["pipelines"].GetArray()) {
          if (!p.IsObject()) continue;
          w.StartObject();
          int_or_null(w, "id", member_int(p, "id"));
          str_or_null(w, p, "name");
          json::kv(w, "isMain",
                   p.HasMember("is_main") && p["is_main"].IsBool() && p["is_main"].GetBool());
          w.Key("statuses");
          w.StartArray();
          auto pe = p.FindMember("_embedded");
          if (pe != p.MemberEnd() && pe->value.IsObject() && pe->value.HasMember("statuses") &&
              pe->value["statuses"].IsArray()) {
            for (auto& s : pe->value["statuses"].GetArray()) {
              if (!s.IsObject()) continue;
              w.StartObject();
              int_or_null(w, "id", member_int(s, "id"));
              str_or_null(w, s, "name");
              str_or_null(w, s, "color");
              int_or_null(w, "type", member_int(s, "type"));
              w.EndObject();
            }
          }
          w.EndArray();
          w.EndObject();
        }
      }
    }
    w.EndArray();
    w.EndObject();
  }));
}

Response test(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto start = std::chrono::steady_clock::now();
  auto r = oauth::api_get(ctx, user, "/api/v4/account", "api/v4/account");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (r.status != 200)
    throw ApiError(Err::kAmoError, "amoCRM answered with status " + std::to_string(r.status));
  amo_api::Account a;
  try {
    a = amo_api::Client::parse_account(r.body);
  } catch (const amo_api::AmoError& e) {
    amo_api::rethrow_as_api_error(e);
  }
  return Response::ok(json::write([&](json::Writer& w) {
    w.StartObject();
    json::kv(w, "connected", true);
    json::kv(w, "accountId", std::to_string(a.id));
    json::kv(w, "accountName", a.name);
    json::kv(w, "subdomain", a.subdomain);
    json::kv(w, "latencyMs", static_cast<int64_t>(ms));
    w.EndObject();
  }));
}

Response exchange_api_key(const Request& req, Context& ctx) {
  std::string user = auth::require_user(req, ctx.cfg);
  auto body = json::parse_object(req.body);
  auto login = json::get_string(body, "login");
  auto api_key = json::get_string(body, "api_key");
  if (!login || login->empty()) throw ApiError(Err::kMissingParameter, "Field 'login' is required");
  if (!api_key || api_key->empty())
    throw ApiError(Err::kMissingParameter, "Field 'api_key' is required");
  if (login->size() > 256) throw ApiError(Err::kInvalidParameter, "Field 'login' is too long");
  if (api_key->size() > 512) throw ApiError(Err::kInvalidParameter, "Field 'api_key' is too long");
  std::string lower = *login;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string user_bucket = "apikey:user:" + user;
  const std::string login_bucket = "apikey:login:" + crypto::sha256_hex(lower);
  // Once per 5 minutes per user and per login, shared by every worker and host.
  int64_t wait = ctx.db.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    int64_t a = store::take_once(tx, user_bucket, 300);
    int64_t b = store::take_once(tx, login_bucket, 300);
    if (a == 0 && b == 0) tx.commit();
    return std::max(a, b);
  });
  if (wait > 0)
    throw ApiError(Err::kRateLimited, "An API-key exchange was requested recently; retry later",
                   static_cast<int>(wait));
  auto s = oauth::create_state(ctx, user, "api_key");
  try {
    ctx.amo->exchange_api_key(ctx.cfg.amo_domain, *login, *api_key, s.state);
  } catch (const amo_api::AmoError& e) {
    if (e.kind != amo_api::Failure::kRejected && e.kind != amo_api::Failure::kRateLimited) {
      // Nothing reached amoCRM's limits: let the user try again now.
      ctx.db.with([&](pqxx::connection& c) {
        pqxx::work tx(c);
        store::release_once(tx, user_bucket);
        store::release_once(tx, login_bucket);
        tx.commit();
      });
    }
    log::warn("API-key exchange failed", [&](json::Writer& w) {
      json::kv(w, "status", static_cast<int64_t>(e.status));
      json::kv(w, "hint", e.hint);
    });
    if (e.kind == amo_api::Failure::kRejected) {
      if (e.status == 403) throw ApiError(Err::kForbidden, "amoCRM refused this login or API key");
      throw ApiError(Err::kInvalidParameter, "amoCRM did not accept the login or API key");
    }
    if (e.kind == amo_api::Failure::kRateLimited)
      throw ApiError(Err::kAmoRateLimited, {}, e.retry_after.value_or(60));
    amo_api::rethrow_as_api_error(e);
  }
  return Response::json(202, json::write([](json::Writer& w) {
                          w.StartObject();
                          json::kv(w, "success", true);
                          json::kv(w, "message", "API key exchange request accepted");
                          json::kv(w, "status", "accepted");
                          json::kv(w, "note", "Authorization code will be sent to redirect URI");
                          w.EndObject();
                        }));
}

}  // namespace amo::handlers
