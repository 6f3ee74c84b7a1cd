#pragma once
#include <string>
#include <vector>

namespace amo::store {

// Applies the `NNN_name.sql` files of `sql_dir` not yet recorded in amo_schema_migrations,
// in order, each in its own transaction, under an advisory lock (safe to run concurrently).
// Returns the names applied (empty when up to date). Throws std::runtime_error naming the file.
std::vector<std::string> migrate(const std::string& database_url, const std::string& sql_dir);

}  // namespace amo::store
