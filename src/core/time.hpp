#pragma once
// Times as the API shows them: ISO 8601 UTC strings ("2025-01-20T10:15:00Z").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace amo::core {

int64_t now_s();  // unix seconds

// "2025-01-20T10:15:00Z" of unix seconds.
std::string iso8601(int64_t unix_s);

// A client's time: unix seconds (up to 12 digits), an ISO 8601 date ("2025-01-20", midnight
// UTC) or date-time with seconds, optional fraction and a zone ("Z" or ±hh:mm). Years from
// 1970; impossible dates ("2025-02-30") are refused. nullopt when it is none of these.
std::optional<int64_t> parse_time(std::string_view text);

}  // namespace amo::core
