#include "gateway/auth.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/crypto.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {
namespace {

struct Entry {
  std::optional<Principal> principal;
  std::chrono::steady_clock::time_point fetched;
};

// Keyed by the token's hash, so that the cache holds no secrets either.
struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;
};

constexpr std::chrono::seconds kStaleOnOutage{30};

}  // namespace

Authenticator make_caching_authenticator(AuthOptions options, TokenLookup lookup) {
  auto cache = std::make_shared<Cache>();
  return [options = std::move(options), lookup = std::move(lookup), cache](const std::string& token) -> std::optional<Principal> {
    if (token.empty() || token.size() > 512) return std::nullopt;
    if (!options.admin_token.empty() && constant_time_equal(token, options.admin_token)) {
      Principal p;
      p.kind = Principal::Kind::admin;
      return p;
    }
    const auto hash = sha256_hex(token);
    const auto now = std::chrono::steady_clock::now();
    std::optional<Entry> stale;
    {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->entries.find(hash); it != cache->entries.end()) {
        if (now - it->second.fetched < options.cache_ttl) return it->second.principal;
        stale = it->second;
      }
    }
    std::optional<Principal> found;
    try {
      found = lookup(token, hash);
    } catch (const std::exception& e) {
      if (stale && now - stale->fetched < kStaleOnOutage) {
        spdlog::warn("auth: lookup failed ({}); using an answer cached {} ms ago", e.what(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - stale->fetched).count());
        return stale->principal;
      }
      throw;
    }
    {
      std::lock_guard lock(cache->mu);
      // Bounded: a flood of random tokens must not grow memory without limit. Dropping everything is crude
      // but cheap, and the next second refills the cache with the tokens in actual use.
      if (cache->entries.size() >= options.cache_entries_max) cache->entries.clear();
      cache->entries[hash] = Entry{found, now};
    }
    return found;
  };
}

Authenticator make_authenticator(App& app) {
  auto tenants = std::make_shared<tenants::TenantRepository>(app.mysql);
  auto partners = std::make_shared<partners::PartnerRepository>(app.mysql);
  AuthOptions options;
  options.admin_token = app.config.admin_token;
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
