// Reads the connection settings that scripts/stack wrote for the running local stack.
//
// Thread-safety: the returned map is a value; load_stack_env() may be called from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace folio::test {

// Loads $FOLIO_STACK_DIR/stack.env (KEY=VALUE lines). Fails the calling test (gtest FAIL via
// an exception) when FOLIO_STACK_DIR is unset or the file is missing.
std::map<std::string, std::string> load_stack_env();

// One value of the stack environment, e.g. stack_value("DATABASE_URL").
std::string stack_value(const std::string& key);

// One value of the stack environment, or nullopt when FOLIO_STACK_DIR is unset, its
// stack.env is missing or lacks `key` (for settings a test without the stack goes without).
std::optional<std::string> find_stack_value(const std::string& key);

}  // namespace folio::test
