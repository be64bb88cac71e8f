#pragma once
// The control plane's routes: tenants (admin), the operator's own tenant, partners and their keys
// (operator), member enrolment and profiles (partner and operator).
#include "gateway/app.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

// Registers exactly:
//   POST /v1/tenants (admin)
//   GET|PATCH /v1/tenant (operator)
//   POST|GET /v1/partners, GET|PATCH /v1/partners/{id}, POST /v1/partners/{id}/keys,
//   DELETE /v1/partners/{id}/keys/{key_id} (operator)
//   POST /v1/members, GET /v1/members/{member} (partner, operator)
// MySQL unreachable: 503 not_ready with Retry-After; any other failure: 500 internal. Never throws.
void register_control_routes(Router& router, App& app);

}  // namespace emtiaz::gateway
