#include "gateway/auth.hpp"

#include <memory>

#include "common/crypto.hpp"
#include "common/http_server.hpp"
#include "gateway/lookup_cache.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {
namespace {

// What a token resolved to, unknown or revoked included: a negative answer is kept as long as a positive one.
struct Answer {
  std::optional<Principal> principal;
};

// A lookup that fails (MySQL away) is answered from an entry last known current at most this long ago rather
// than with a 5xx.
constexpr std::chrono::seconds kStaleOnOutage{30};

}  // namespace

Authenticator make_caching_authenticator(AuthOptions options, TokenLookup lookup) {
  // Keyed by the token's hash, so that the cache holds no secrets. Bounded: a flood of random tokens must not
  // grow memory without limit (a full shard is emptied; the tokens in actual use come back within a second).
  auto cache = std::make_shared<LookupCache<Answer>>(options.cache_ttl, options.cache_entries_max, kStaleOnOutage);
  if (auto* watch = options.watch) {
    cache->confirm_with([watch] { return watch->confirmed_at(); }, kConfirmedAtMost);
    watch->on_change([cache] { cache->clear(); });
  }
  auto shared_lookup = std::make_shared<TokenLookup>(std::move(lookup));
  return [options = std::move(options), shared_lookup, cache](const std::string& token) -> std::optional<Principal> {
    if (token.empty() || token.size() > 512) return std::nullopt;
    if (!options.admin_token.empty() && constant_time_equal(token, options.admin_token)) {
      Principal p;
      p.kind = Principal::Kind::admin;
      return p;
    }
    auto hash = sha256_hex(token);
    // With `later`, a token in use is looked up again on a worker in the last quarter of its entry's life, so
    // that it never expires on an I/O thread (where a miss moves the request, and every request with that
    // token meanwhile, to a worker). The load owns its copies: it may run after this returns.
    auto answer = cache->get(
        hash, [shared_lookup, token, hash] { return std::optional<Answer>(Answer{(*shared_lookup)(token, hash)}); },
        options.later);
    return answer ? answer->principal : std::nullopt;
  };
}

Authenticator make_authenticator(App& app, ControlPlaneWatch& watch) {
  auto tenants = std::make_shared<tenants::TenantRepository>(app.mysql);
  auto partners = std::make_shared<partners::PartnerRepository>(app.mysql);
  AuthOptions options;
  options.admin_token = app.config.admin_token;
  options.later = HttpServer::post_to_workers;
  options.watch = &watch;
  return make_caching_authenticator(
      std::move(options), [tenants, partners](const std::string& token, const std::string& hash) -> std::optional<Principal> {
        if (token.rfind("op_", 0) == 0) {
          auto t = tenants->find_by_operator_token_hash(hash);
          if (!t) return std::nullopt;
          Principal p;
          p.kind = Principal::Kind::operator_;
          p.tenant_id = t->id;
          return p;
        }
        if (token.rfind("pk_", 0) == 0) {
          auto k = partners->find_by_key_hash(hash);
          if (!k) return std::nullopt;
          Principal p;
          p.kind = Principal::Kind::partner;
          p.tenant_id = k->partner.tenant_id;
          p.partner_id = k->partner.id;
          p.key_id = k->key_id;
          p.suspended = k->partner.status == "suspended";
          p.rate_limit_per_s = k->partner.rate_limit_per_s.value_or(0);
          return p;
        }
        return std::nullopt;
      });
}

}  // namespace emtiaz::gateway
