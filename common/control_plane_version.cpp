#include "common/control_plane_version.hpp"

#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <memory>
#include <stdexcept>

namespace emtiaz {

void note_control_plane_change(sql::Connection& c) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  st->executeUpdate("UPDATE control_plane_version SET version = version + 1 WHERE id = 1");
}

std::int64_t read_control_plane_version(sql::Connection& c) {
  std::unique_ptr<sql::Statement> st(c.createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery("SELECT version FROM control_plane_version WHERE id = 1"));
  if (!rs->next()) throw std::runtime_error("control_plane_version has no row (migration 009 not applied?)");
  return rs->getInt64(1);
}

}  // namespace emtiaz
