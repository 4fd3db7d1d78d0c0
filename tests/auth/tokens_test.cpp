// Token shape checks that need no database: well_formed() refuses a bad byte wherever it is.
#include "folio/auth/tokens.hpp"

#include <gtest/gtest.h>

#include <string>

namespace folio::auth {
namespace {

TEST(WellFormed, AcceptsGeneratedTokensAndRefusesABadByteAnywhere) {
  const std::string token = generate_token();
  ASSERT_TRUE(well_formed(token)) << token;
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (const char bad : {'=', '+', '/', ' ', '\0', '\x80', '\xff'}) {
      std::string broken = token;
      broken[i] = bad;
      EXPECT_FALSE(well_formed(broken)) << "byte " << i << " = " << int(bad);
    }
  }
  EXPECT_FALSE(well_formed(""));
  EXPECT_FALSE(well_formed(token.substr(1)));
  EXPECT_FALSE(well_formed(token + "A"));
  EXPECT_FALSE(well_formed("Folio_" + token.substr(kTokenPrefix.size())));
  EXPECT_TRUE(well_formed("folio_" + std::string(43, '-')));
  EXPECT_TRUE(well_formed("folio_" + std::string(43, '_')));
}

}  // namespace
}  // namespace folio::auth
