#pragma once
// Leads and pipelines: the app's query → amoCRM's URL, and amoCRM's answer → our JSON, as
// pure functions (no I/O; unit- and fuzz-tested). The answer mappers throw
// AmoError(kGarbage) for anything amoCRM would not send (wrong types, wrong shapes).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace amo::amo_api {

struct LeadsQuery {
  int64_t page = 1;
  int64_t limit = 50;
  std::string query;  // full-text search, empty for none
  std::optional<int64_t> pipeline_id, status_id, responsible_user_id;
  std::optional<int64_t> created_from, created_to;  // unix seconds
  std::string order_field = "created_at";           // created_at | updated_at | id
  std::string order_dir = "desc";                   // asc | desc
};

// "/api/v4/leads?page=…&limit=…[&query=…][&filter…]&order[<field>]=<dir>" (percent-encoded).
std::string leads_path(const LeadsQuery& q);
// A canonical text of the query (same query → same text), for keys and ETags.
std::string canonical(const LeadsQuery& q);

inline constexpr const char* kPipelinesPath = "/api/v4/leads/pipelines";

struct MappedLeads {
  std::string leads_json;  // a JSON array of {id,name,price,statusId,pipelineId,…}
  bool has_more = false;
};
// amoCRM's answer to leads_path(): 200 with a body, or 204 (no leads).
MappedLeads map_leads(long status, std::string_view body);

// amoCRM's answer to kPipelinesPath → a JSON array of {id,name,isMain,statuses:[…]}.
std::string map_pipelines(long status, std::string_view body);

}  // namespace amo::amo_api
