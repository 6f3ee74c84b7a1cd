// amoCRM's pipelines answer: amo_api::map_pipelines (an optional "#status NNN" first line
// sets the HTTP status, else 200). When it does not throw AmoError(kGarbage), its output is
// a JSON array (parsed back here) of {id,name,isMain,statuses:[{id,name,color,type}]}, one
// per pipeline amoCRM sent.
#include <rapidjson/document.h>

#include "amo/leads.hpp"
#include "amo_check.hpp"

using namespace amo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body;
  const long status = fuzz::answer_status(fuzz::as_text(data, size), &body);
  std::string mapped;
  if (!fuzz::amo_parses([&] { mapped = amo_api::map_pipelines(status, body); })) return 0;

  FUZZ_CHECK(status == 200 || status == 204, "map_pipelines accepted status %ld", status);
  rapidjson::Document out;
  fuzz::require_json(mapped, out, "map_pipelines output");
  FUZZ_CHECK(out.IsArray(), "map_pipelines output is not an array");
  size_t sent = 0;
  if (status == 200 && !body.empty()) {
    rapidjson::Document in;
    fuzz::require_json(body, in, "an accepted pipelines answer");
    if (in.HasMember("_embedded") && in["_embedded"].HasMember("pipelines"))
      sent = in["_embedded"]["pipelines"].Size();
  }
  FUZZ_CHECK(out.Size() == sent, "%u pipelines out of %zu sent", out.Size(), sent);
  for (const auto& p : out.GetArray()) {
    FUZZ_CHECK(p.IsObject() && p.MemberCount() == 4, "a pipeline is not an object of 4 members");
    FUZZ_CHECK(p.HasMember("id") && p["id"].IsInt64(), "a pipeline without an integer id");
    FUZZ_CHECK(p.HasMember("isMain") && p["isMain"].IsBool(), "isMain is not a boolean");
    FUZZ_CHECK(p.HasMember("statuses") && p["statuses"].IsArray(), "statuses is not an array");
    for (const auto& s : p["statuses"].GetArray()) {
      FUZZ_CHECK(s.IsObject() && s.MemberCount() == 4, "a status is not an object of 4 members");
      for (const char* k : {"id", "type"})
        FUZZ_CHECK(s.HasMember(k) && (s[k].IsNull() || s[k].IsInt64()), "status %s", k);
      for (const char* k : {"name", "color"})
        FUZZ_CHECK(s.HasMember(k) && (s[k].IsNull() || s[k].IsString()), "status %s", k);
    }
  }
  return 0;
}
