#pragma once
// Checks that many integration tests make of an answer, in one place.
#include <string>

#include "tests/support/http_client.hpp"

namespace emtiaz::tests {

// The `code` of a problem document; "" when the body is not one.
std::string code_of(const HttpResponse& r);

// `again` replays `first`: the same status, content type and bytes, marked Idempotent-Replayed: true.
void expect_replay(const HttpResponse& first, const HttpResponse& again, const std::string& what);

}  // namespace emtiaz::tests
