// amoCRM's leads answer: amo_api::map_leads (an optional "#status NNN" first line sets the
// HTTP status, else 200). When it does not throw AmoError(kGarbage), its output is a JSON
// array (parsed back here) with one object per lead amoCRM sent, in the app's shape.
#include <rapidjson/document.h>

#include "amo/leads.hpp"
#include "amo_check.hpp"
#include "core/time.hpp"

using namespace amo;

namespace {

bool int_or_null(const rapidjson::Value& o, const char* k) {
  return o.HasMember(k) && (o[k].IsNull() || o[k].IsInt64());
}
bool time_or_null(const rapidjson::Value& o, const char* k) {
  if (!o.HasMember(k)) return false;
  if (o[k].IsNull()) return true;
  // "YYYY-MM-DDThh:mm:ssZ": a time the API itself would read back.
  return o[k].IsString() && o[k].GetStringLength() == 20 &&
         core::parse_time(std::string_view(o[k].GetString(), 20)).has_value();
}

// The number of leads in the answer, read without map_leads' code.
size_t leads_sent(std::string_view body) {
  rapidjson::Document d;
  fuzz::require_json(body, d, "an accepted leads answer");
  if (!d.HasMember("_embedded")) return 0;
  const auto& e = d["_embedded"];
  return e.HasMember("leads") ? e["leads"].Size() : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body;
  const long status = fuzz::answer_status(fuzz::as_text(data, size), &body);
  amo_api::MappedLeads m;
  if (!fuzz::amo_parses([&] { m = amo_api::map_leads(status, body); })) return 0;

  FUZZ_CHECK(status == 200 || status == 204, "map_leads accepted status %ld", status);
  rapidjson::Document out;
  fuzz::require_json(m.leads_json, out, "map_leads output");
  FUZZ_CHECK(out.IsArray(), "map_leads output is not an array");
  const size_t sent = (status == 204 || body.empty()) ? 0 : leads_sent(body);
  FUZZ_CHECK(out.Size() == sent, "%u leads out of %zu sent", out.Size(), sent);
  if (status == 204 || body.empty()) FUZZ_CHECK(!m.has_more, "has_more without an answer");
  for (const auto& l : out.GetArray()) {
    FUZZ_CHECK(l.IsObject() && l.MemberCount() == 9, "a lead is not an object of 9 members");
    FUZZ_CHECK(l.HasMember("id") && l["id"].IsInt64(), "a lead without an integer id");
    FUZZ_CHECK(l.HasMember("name") && (l["name"].IsNull() || l["name"].IsString()), "bad name");
    for (const char* k : {"price", "statusId", "pipelineId", "responsibleUserId"})
      FUZZ_CHECK(int_or_null(l, k), "lead member %s is not an integer or null", k);
    for (const char* k : {"createdAt", "updatedAt", "closedAt"})
      FUZZ_CHECK(time_or_null(l, k), "lead member %s is not a UTC time or null", k);
  }
  return 0;
}
