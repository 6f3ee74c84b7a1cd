// Request JSON bodies: http::JsonBody (text / required_text) over the request bounds.
#include "core/error.hpp"
#include "core/text.hpp"
#include "fuzz_check.hpp"
#include "http/input.hpp"

using namespace amo;

namespace {

struct Field {
  const char* name;
  size_t max_chars;
};
// The fields handlers read, with their bounds.
constexpr Field kFields[] = {{"code", 1024}, {"state", 1024},  {"referer", 1024},
                             {"login", 256}, {"api_key", 512}, {"", 16}};

bool fault_is(const core::Error& e, std::initializer_list<core::Fault> ok) {
  for (auto f : ok)
    if (e.fault() == f) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  // What the body rule decides must agree with the bounded parse.
  rapidjson::Document ref;
  const auto fail = json::parse(body, ref, json::kRequestLimits);
  if (body.empty()) ref.SetObject();  // an empty body reads as {}
  const bool object = body.empty() || (fail == json::ParseFail::kNone && ref.IsObject());
  try {
    http::JsonBody b(body);
    FUZZ_CHECK(object, "JsonBody accepted what the parse refuses (%s)", json::describe(fail));
    FUZZ_CHECK(body.size() <= json::kRequestLimits.max_bytes, "JsonBody accepted %zu bytes",
               body.size());
    FUZZ_CHECK(fuzz::depth_of(ref) <= json::kRequestLimits.max_depth, "accepted depth %d",
               fuzz::depth_of(ref));
    for (const Field& f : kFields) {
      try {
        auto v = b.text(f.name, f.max_chars);
        if (v) {
          auto n = core::code_points(*v);
          FUZZ_CHECK(n && *n <= f.max_chars, "text('%s') is invalid or longer than %zu", f.name,
                     f.max_chars);
          FUZZ_CHECK(ref.HasMember(f.name) && ref[f.name].IsString(),
                     "text('%s') returned a value the document lacks", f.name);
        } else {
          FUZZ_CHECK(!ref.HasMember(f.name), "text('%s') missed a present member", f.name);
        }
      } catch (const core::Error& e) {
        FUZZ_CHECK(fault_is(e, {core::Fault::kInvalidParameter}), "text threw fault %d",
                   static_cast<int>(e.fault()));
      }
      try {
        auto v = b.required_text(f.name, f.max_chars);
        FUZZ_CHECK(!v.empty() && core::valid_utf8(v), "required_text('%s') empty or invalid",
                   f.name);
      } catch (const core::Error& e) {
        FUZZ_CHECK(fault_is(e, {core::Fault::kInvalidParameter, core::Fault::kMissingParameter}),
                   "required_text threw fault %d", static_cast<int>(e.fault()));
      }
    }
  } catch (const core::Error& e) {
    FUZZ_CHECK(e.fault() == core::Fault::kInvalidJson, "JsonBody threw fault %d",
               static_cast<int>(e.fault()));
    FUZZ_CHECK(!object, "JsonBody refused a valid object");
  }
  return 0;
}
