#pragma once
// What every user id verify_jwt returns must be, shared by the two JWT targets.
#include <string>

#include "core/text.hpp"
#include "fuzz_check.hpp"

namespace amo::fuzz {

inline constexpr std::string_view kJwtSecret = "fuzz-jwt-secret-0123456789abcdef0123";
inline constexpr int64_t kJwtNow = 1700000000;  // 2023-11-14T22:13:20Z

inline void check_user_id(const std::string& id) {
  FUZZ_CHECK(!id.empty() && id.size() <= 128, "user id of %zu bytes", id.size());
  FUZZ_CHECK(core::valid_utf8(id), "user id is not valid UTF-8");
  for (char c : id) {
    auto b = static_cast<unsigned char>(c);
    FUZZ_CHECK(b >= 0x20 && b != 0x7F, "user id holds control character 0x%02x", b);
  }
}

}  // namespace amo::fuzz
