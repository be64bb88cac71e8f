#include "gateway/auth.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/crypto.hpp"
#include "common/http_server.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {
namespace {

struct Entry {
  std::optional<Principal> principal;
  std::chrono::steady_clock::time_point fetched;
  bool refreshing = false;  // a lookup was handed to AuthOptions::later and has not ended
};

// Keyed by the token's hash, so that the cache holds no secrets either.
struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;

  // Under mu: caps the map, then keeps `found` as fetched at `at`.
  void store(const std::string& hash, std::optional<Principal> found, std::chrono::steady_clock::time_point at,
             size_t entries_max) {
    // Bounded: a flood of random tokens must not grow memory without limit. Dropping everything is crude
    // but cheap, and the next second refills the cache with the tokens in actual use.
    if (entries.size() >= entries_max) entries.clear();
    entries[hash] = Entry{std::move(found), at};
  }

  // Not under mu: `hash`'s lookup ahead of its entry's expiry (AuthOptions::later runs it on a worker). A failed
  // one leaves the entry to expire; the request after that meets the failure itself.
  void look_up_ahead(const TokenLookup& lookup, const std::string& token, const std::string& hash, size_t entries_max) {
    const auto at = std::chrono::steady_clock::now();
    try {
      auto found = lookup(token, hash);
      std::lock_guard lock(mu);
      store(hash, std::move(found), at, entries_max);
    } catch (const std::exception& e) {
      spdlog::warn("auth: lookup ahead of expiry failed ({}); the entry expires", e.what());
      end_refresh(hash);
    }
  }

  // Not under mu: the lookup ahead for `hash` ended without an answer (failed, or never started).
  void end_refresh(const std::string& hash) {
    std::lock_guard lock(mu);
    if (auto it = entries.find(hash); it != entries.end()) it->second.refreshing = false;
  }
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
    std::optional<Principal> cached;  // the answer when the entry is within its TTL
    bool ahead = false;
    {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->entries.find(hash); it != cache->entries.end()) {
        auto& e = it->second;
        const auto age = now - e.fetched;
        if (age < options.cache_ttl) {
          // In its last quarter: one lookup ahead, on a worker, so a token in use never expires on an I/O thread
          // (where a miss moves the request, and every request with that token meanwhile, to a worker).
          ahead = options.later && !e.refreshing && age >= options.cache_ttl - options.cache_ttl / 4;
          if (ahead) e.refreshing = true;
          cached = e.principal;
          if (!ahead) return cached;
        } else {
          stale = e;
        }
      }
    }
    if (ahead) {
      // Handed over after the lock is released: the hand-over may wake a worker.
      auto task = [cache, lookup, token, hash, max = options.cache_entries_max] {
        cache->look_up_ahead(lookup, token, hash, max);
      };
      if (!options.later(std::move(task))) cache->end_refresh(hash);
      return cached;
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
      cache->store(hash, found, now, options.cache_entries_max);
    }
    return found;
  };
}

Authenticator make_authenticator(App& app) {
  auto tenants = std::make_shared<tenants::TenantRepository>(app.mysql);
  auto partners = std::make_shared<partners::PartnerRepository>(app.mysql);
  AuthOptions options;
  options.admin_token = app.config.admin_token;
  options.later = HttpServer::post_to_workers;
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
