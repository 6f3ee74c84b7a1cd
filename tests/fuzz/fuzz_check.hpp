#pragma once
// Shared by the fuzz targets: invariant checks that stop the run with a readable message
// (libFuzzer then saves the input as a crash), independent of NDEBUG.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "util/json.hpp"

#define FUZZ_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                       \
      std::fprintf(stderr, "\n");                                                              \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace amo::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits off the first line ("\n" excluded); `rest` is what follows it.
inline std::string_view first_line(std::string_view in, std::string_view* rest) {
  size_t nl = in.find('\n');
  *rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return in.substr(0, nl);
}

// The deepest nesting of arrays/objects in a parsed value (0 for a scalar), walked with an
// explicit stack so a deep value cannot exhaust ours; `visit` (if any) sees every value.
int depth_of(const rapidjson::Value& root,
             const std::function<void(const rapidjson::Value&)>& visit = {});

// `text` is one JSON value that the upstream-bounded parse accepts; returns the document.
void require_json(std::string_view text, rapidjson::Document& out, const char* what);

}  // namespace amo::fuzz
