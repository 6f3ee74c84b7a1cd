#include "amo/leads.hpp"

#include "amo/parse.hpp"
#include "core/time.hpp"
#include "http/request.hpp"
#include "util/json.hpp"

namespace amo::amo_api {

namespace {

void add(std::string& q, const char* name, int64_t v) {
  q += '&';
  q += name;
  q += '=';
  q += std::to_string(v);
}

}  // namespace

std::string leads_path(const LeadsQuery& q) {
  std::string p =
      "/api/v4/leads?page=" + std::to_string(q.page) + "&limit=" + std::to_string(q.limit);
  if (!q.query.empty()) p += "&query=" + http::url_encode(q.query);
  if (q.status_id && q.pipeline_id) {
    add(p, "filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D", *q.pipeline_id);
    add(p, "filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D", *q.status_id);
  } else if (q.pipeline_id) {
    add(p, "filter%5Bpipeline_id%5D", *q.pipeline_id);
  }
  if (q.responsible_user_id) add(p, "filter%5Bresponsible_user_id%5D", *q.responsible_user_id);
  if (q.created_from) add(p, "filter%5Bcreated_at%5D%5Bfrom%5D", *q.created_from);
  if (q.created_to) add(p, "filter%5Bcreated_at%5D%5Bto%5D", *q.created_to);
  p += "&order%5B" + http::url_encode(q.order_field) + "%5D=" + http::url_encode(q.order_dir);
  return p;
}

std::string canonical(const LeadsQuery& q) {
  // The amoCRM path is already canonical: one spelling per query.
  return leads_path(q);
}

namespace {

void time_or_null(json::Writer& w, const char* key, const std::optional<int64_t>& v) {
  w.Key(key);
  if (v && *v > 0)
    json::str(w, core::iso8601(*v));
  else
    w.Null();
}

// `_embedded.<name>` of an answer: an array (amoCRM always sends it with a 200 body).
const rapidjson::Value* embedded(const rapidjson::Value& d, const char* name) {
  const rapidjson::Value* emb = json::get_object(d, "_embedded");
  const rapidjson::Value* arr = emb ? json::get_array(*emb, name) : nullptr;
  if (!arr) throw json::ShapeError(std::string("_embedded.") + name, "present");
  return arr;
}

template <typename F>
std::string map_array(long status, std::string_view body, const char* what, const char* name,
                      F&& each, bool* has_more) {
  if (status == 204 || (status == 200 && body.empty())) return "[]";
  if (status != 200)
    throw AmoError(Failure::kGarbage, status,
                   std::string("amoCRM ") + what + " answered an unexpected status");
  auto d = parse_body(body, what);
  try {
    std::string out = json::write([&](json::Writer& w) {
      w.StartArray();
      for (const auto& item : embedded(d, name)->GetArray()) {
        if (!item.IsObject()) throw json::ShapeError(name, "a list of objects");
        each(w, item);
      }
      w.EndArray();
    });
    if (has_more) {
      const rapidjson::Value* links = json::get_object(d, "_links");
      *has_more = links && links->HasMember("next");
    }
    return out;
  } catch (const json::ShapeError& e) {
    throw AmoError(Failure::kGarbage, status,
                   std::string("amoCRM ") + what + " answer: " + e.what());
  }
}

}  // namespace

MappedLeads map_leads(long status, std::string_view body) {
  MappedLeads m;
  m.leads_json = map_array(
      status, body, "leads", "leads",
      [](json::Writer& w, const rapidjson::Value& l) {
        auto id = json::get_int(l, "id");
        if (!id) throw json::ShapeError("id", "present");
        w.StartObject();
        json::kv(w, "id", *id);
        json::kv(w, "name", json::get_string_or_null(l, "name"));
        json::kv(w, "price", json::get_int_or_null(l, "price"));
        json::kv(w, "statusId", json::get_int_or_null(l, "status_id"));
        json::kv(w, "pipelineId", json::get_int_or_null(l, "pipeline_id"));
        json::kv(w, "responsibleUserId", json::get_int_or_null(l, "responsible_user_id"));
        time_or_null(w, "createdAt", json::get_int_or_null(l, "created_at"));
        time_or_null(w, "updatedAt", json::get_int_or_null(l, "updated_at"));
        time_or_null(w, "closedAt", json::get_int_or_null(l, "closed_at"));
        w.EndObject();
      },
      &m.has_more);
  return m;
}

std::string map_pipelines(long status, std::string_view body) {
  return map_array(
      status, body, "pipelines", "pipelines",
      [](json::Writer& w, const rapidjson::Value& p) {
        auto id = json::get_int(p, "id");
        if (!id) throw json::ShapeError("id", "present");
        w.StartObject();
        json::kv(w, "id", *id);
        json::kv(w, "name", json::get_string_or_null(p, "name"));
        json::kv(w, "isMain", json::get_bool(p, "is_main").value_or(false));
        w.Key("statuses");
        w.StartArray();
        const rapidjson::Value* pe = json::get_object(p, "_embedded");
        if (const rapidjson::Value* statuses = pe ? json::get_array(*pe, "statuses") : nullptr) {
          for (const auto& s : statuses->GetArray()) {
            if (!s.IsObject()) throw json::ShapeError("statuses", "a list of objects");
            w.StartObject();
            json::kv(w, "id", json::get_int_or_null(s, "id"));
            json::kv(w, "name", json::get_string_or_null(s, "name"));
            json::kv(w, "color", json::get_string_or_null(s, "color"));
            json::kv(w, "type", json::get_int_or_null(s, "type"));
            w.EndObject();
          }
        }
        w.EndArray();
        w.EndObject();
      },
      nullptr);
}

}  // namespace amo::amo_api
