#pragma once
// The SQL migrations, compiled into every binary (generated from migrations/*.sql at configure time), so
// a service needs no file next to it to bring its schema up to date.
#include <string_view>
#include <vector>

namespace emtiaz {
struct EmbeddedMigration {
  int version;
  std::string_view name;
  std::string_view sql;
};
const std::vector<EmbeddedMigration>& embedded_migrations();
}  // namespace emtiaz
