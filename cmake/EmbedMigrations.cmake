# Writes a C++ source holding every sql/migrations/*.sql file, so binaries carry their schema.
# Usage: cmake -DMIGRATIONS_DIR=... -DOUTPUT=... -P EmbedMigrations.cmake
file(GLOB files RELATIVE "${MIGRATIONS_DIR}" "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  file(READ "${MIGRATIONS_DIR}/${f}" text)
  string(FIND "${text}" ")folio_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter )folio_sql\"")
  endif()
  string(APPEND body "    make_migration(\"${f}\", R\"folio_sql(${text})folio_sql\"),\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from sql/migrations by cmake/EmbedMigrations.cmake. Do not edit.
#include \"folio/db/migrator.hpp\"

namespace folio::db {

const std::vector<Migration>& embedded_migrations() {
  static const std::vector<Migration> kMigrations = {
${body}  };
  return kMigrations;
}

}  // namespace folio::db
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
