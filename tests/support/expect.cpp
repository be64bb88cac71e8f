#include "tests/support/expect.hpp"

#include <gtest/gtest.h>

namespace emtiaz::tests {

std::string code_of(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("code") && j["code"].is_string() ? j["code"].get<std::string>() : "";
}

void expect_replay(const HttpResponse& first, const HttpResponse& again, const std::string& what) {
  EXPECT_EQ(again.status, first.status) << what << ": " << again.describe();
  EXPECT_EQ(again.body, first.body) << what << ": the replay must be byte-identical";
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true") << what << ": " << again.describe();
  EXPECT_EQ(again.header("Content-Type"), first.header("Content-Type")) << what;
}

}  // namespace emtiaz::tests
