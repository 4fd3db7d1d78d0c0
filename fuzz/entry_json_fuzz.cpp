// Bytes as the JSON body of an entry create or patch (and of a pilot change): the validators
// the handlers call, on a request that reached them with Content-Type application/json.
//
// Expected: a checked value or a Problem (api_checks.hpp), for both kinds of entry.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api_checks.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace folio::api::detail;
  using folio::finance::EntryKind;
  using folio::fuzz::expect_value_or_problem;

  Request req{http::verb::post, "/v1/orgs/1/revenues", 11};
  req.set(http::field::content_type, "application/json");
  req.body().assign(reinterpret_cast<const char*>(data), size);

  expect_value_or_problem([&] {
    const auto body = parse_json_object(req);
    for (const auto kind : {EntryKind::revenue, EntryKind::expense}) {
      expect_value_or_problem([&] { folio::fuzz::check_new_entry(new_entry(body, kind), kind); });
      expect_value_or_problem([&] { folio::fuzz::check_patch(entry_patch(body, kind), kind); });
    }
    expect_value_or_problem([&] {
      const auto orgs = pilot_orgs(body);
      FUZZ_CHECK(!orgs.empty() && orgs.size() <= kMaxPilotOrgs);
      for (const auto org : orgs) FUZZ_CHECK(org > 0);
    });
  });
  return 0;
}
