#pragma once
// Settlements (api.md, Operator and "Settlement (normative)"): the operator closes a period and reads the
// closed ones, as JSON or (Accept: text/csv) as the CSV file whose SHA-256 is the settlement's checksum.
#include "gateway/app.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

// Registers exactly (operator):
//   POST /v1/settlements, GET /v1/settlements, GET /v1/settlements/{id}
// MySQL unreachable: 503 not_ready with Retry-After; any other failure: 500 internal. Never throws.
void register_settlement_routes(Router& router, App& app);

}  // namespace emtiaz::gateway
