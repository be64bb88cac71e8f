#pragma once
// Bearer tokens to principals. Three kinds: the platform admin's token (configuration; compared in constant
// time), operator tokens ("op_..."; SHA-256 looked up in tenants) and partner API keys ("pk_..."; SHA-256
// looked up in api_keys joined with partners). Tokens are never logged.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "gateway/app.hpp"
#include "gateway/control_plane_watch.hpp"
#include "gateway/principal.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

// Resolves a token hash ("op_"/"pk_" tokens) to a principal; nullopt: unknown or revoked.
using TokenLookup = std::function<std::optional<Principal>(const std::string& token, const std::string& token_hash)>;

struct AuthOptions {
  std::string admin_token;  // empty: no admin principal
  // Positive and negative answers are reused for at most this long after they were last known to be current
  // (loaded, or confirmed by `watch`), so a revoked key or a suspended partner stops working within one second
  // on every gateway.
  std::chrono::milliseconds cache_ttl{500};
  // The control plane's watch: it empties the cache when a key is revoked or a partner or tenant changed, and
  // confirms it meanwhile (for at most kConfirmedAtMost after each load). Null: answers are reloaded once
  // older than cache_ttl. Register before watch->start(); the watch outlives the authenticator's use.
  ControlPlaneWatch* watch = nullptr;
  size_t cache_entries_max = 100'000;
  // Runs a task on another thread (HttpServer::post_to_workers); false: it could not. When set, a token in use
  // is looked up again there in the last quarter of its entry's life (see make_caching_authenticator).
  std::function<bool(std::function<void()>)> later;
};

// The caching authenticator over any lookup (unit-testable without MySQL). When the lookup throws (MySQL
// unreachable), an entry cached before is used again if it is at most 30 s old; otherwise the exception
// propagates (the request fails with 5xx rather than letting an unknown token in).
Authenticator make_caching_authenticator(AuthOptions options, TokenLookup lookup);

// The gateway's authenticator: admin token from App.config.admin_token, operators and partners from MySQL,
// watched by `watch`.
Authenticator make_authenticator(App& app, ControlPlaneWatch& watch);

}  // namespace emtiaz::gateway
