#pragma once
// The simulator's fixed CRM content: two pipelines and ~100 leads, generated
// deterministically (same ids, names, prices and statuses on every start; the
// timestamps are relative to the UTC day the simulator started).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace amosim {

struct Status {
  int64_t id;
  std::string name;
  int sort;
  bool is_editable;
  std::string color;
  int type;  // 0 regular, 1 "unsorted"
};

struct Pipeline {
  int64_t id;
  std::string name;
  int sort;
  bool is_main;
  bool is_unsorted_on;
  bool is_archive;
  std::vector<Status> statuses;
};

struct Lead {
  int64_t id;
  std::string name;
  std::string name_lower;  // utf8_lower(name), for `query`
  int64_t price;
  int64_t responsible_user_id;
  int64_t group_id;
  int64_t status_id;
  int64_t pipeline_id;
  int64_t created_by;
  int64_t updated_by;
  int64_t created_at;
  int64_t updated_at;
  std::optional<int64_t> closed_at;
  std::optional<int64_t> loss_reason_id;
};

struct DemoData {
  std::vector<Pipeline> pipelines;
  std::vector<Lead> leads;        // ascending id (and created_at)
  std::vector<int64_t> user_ids;  // the responsible users
  int64_t account_created_at = 0;
};

inline constexpr int64_t kStatusWon = 142;
inline constexpr int64_t kStatusLost = 143;

DemoData make_demo_data(int64_t now_unix);

// Lower-cases ASCII, Latin-1 letters and Cyrillic (incl. Ukrainian Є І Ї Ґ) in UTF-8 text.
// Anything else (and invalid bytes) is copied unchanged.
std::string utf8_lower(std::string_view s);

}  // namespace amosim
