#pragma once
#include <cstdint>
#include <string>

namespace emtiaz::gateway {

// Who is calling. Idempotency keys are scoped to `scope()`: the partner, the tenant's operator or the
// platform admin — never the individual API key, so a retry after key rotation is still a retry.
struct Principal {
  enum class Kind { admin, operator_, partner, anonymous } kind = Kind::anonymous;
  std::string tenant_id;   // operator and partner
  std::string partner_id;  // partner
  std::string key_id;      // partner: the API key used
  bool suspended = false;  // partner: its status is `suspended` (403 partner_suspended)
  std::int64_t rate_limit_per_s = 0;  // partner: its own request limit (0: the gateway's default)

  std::string scope() const {
    switch (kind) {
      case Kind::admin: return "admin";
      case Kind::operator_: return "op:" + tenant_id;
      case Kind::partner: return "partner:" + partner_id;
      default: return "anonymous";
    }
  }
};

}  // namespace emtiaz::gateway
