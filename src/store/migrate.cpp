#include "store/migrate.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace amo::store {

namespace fs = std::filesystem;

std::vector<std::string> migrate(const std::string& database_url, const std::string& sql_dir) {
  std::vector<fs::path> files;
  static const std::regex kName(R"(^\d{3}_[A-Za-z0-9_]+\.sql$)");
  std::error_code ec;
  for (auto& e : fs::directory_iterator(sql_dir, ec))
    if (e.is_regular_file() && std::regex_match(e.path().filename().string(), kName))
      files.push_back(e.path());
  if (ec)
    throw std::runtime_error("cannot read migrations directory " + sql_dir + ": " + ec.message());
  if (files.empty()) throw std::runtime_error("no migrations found in " + sql_dir);
  std::sort(files.begin(), files.end());

  pqxx::connection c(database_url);
  {
    pqxx::work tx(c);
    tx.exec("SELECT pg_advisory_xact_lock(7263001)");
    // The service's least-privilege role may not create anything: only create the
    // bookkeeping table when it is missing (a pending migration then fails as it should).
    if (tx.exec("SELECT to_regclass('amo_schema_migrations') IS NULL")[0][0].as<bool>())
      tx.exec(
          "CREATE TABLE amo_schema_migrations (version text PRIMARY KEY, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::vector<std::string> applied;
  for (auto& f : files) {
    std::string version = f.filename().string();
    pqxx::work tx(c);
    tx.exec("SELECT pg_advisory_xact_lock(7263001)");
    if (!tx.exec_params("SELECT 1 FROM amo_schema_migrations WHERE version = $1", version).empty())
      continue;
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      tx.exec(ss.str());
    } catch (const pqxx::sql_error& e) {
      throw std::runtime_error("migration " + version + " failed: " + e.what());
    }
    tx.exec_params("INSERT INTO amo_schema_migrations (version) VALUES ($1)", version);
    tx.commit();
    applied.push_back(version);
  }
  return applied;
}

}  // namespace amo::store
