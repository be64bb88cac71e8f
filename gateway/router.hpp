#pragma once
// The gateway's router: `handle(request) -> response` with no socket in sight. Routes are templates
// ("/v1/partners/{id}"); the matched template is the metrics label. Authentication and the principal's
// role are checked here, once, before any handler runs.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "gateway/principal.hpp"

namespace emtiaz::gateway {

struct RequestContext {
  HttpRequest& req;
  Principal principal;
  std::map<std::string, std::string> params;  // path parameters, percent-decoded
  std::string route;                          // the matched template, e.g. "POST /v1/earn"
};

using RouteHandler = std::function<HttpResponse(RequestContext&)>;

enum Role : unsigned { kAdmin = 1, kOperator = 2, kPartner = 4, kPublic = 8 };

struct Route {
  std::string method;   // "GET", "POST", ...
  std::string pattern;  // "/v1/members/{member}/balance"
  unsigned roles;       // bitmask of Role
  RouteHandler handler;
  // May be tried on an I/O thread (Router::try_inline): the handler normally needs only in-process caches
  // and Redis; where it would need MySQL it throws WouldBlock (common/blocking.hpp) before any effect.
  bool inline_ok = false;
};

// Resolves a bearer token to a principal (nullopt: unknown or revoked token).
using Authenticator = std::function<std::optional<Principal>(const std::string& token)>;

// Says whether a principal is over its request rate: nullopt to proceed, or the seconds to wait. On an I/O
// thread it may throw WouldBlock (it would wait for its shared counter): the request is then counted on a worker.
using RateLimiter = std::function<std::optional<int>(const Principal&)>;

class Router {
 public:
  explicit Router(Authenticator authenticate, RateLimiter limit = {})
      : authenticate_(std::move(authenticate)), limit_(std::move(limit)) {}
  void add(Route route);
  HttpResponse handle(HttpRequest& req) const;
  // For an inline_ok route, its answer computed on the calling (I/O) thread without waiting for MySQL;
  // nullopt when the route is not inline_ok or the answer needs MySQL (then call handle() on a worker).
  std::optional<HttpResponse> try_inline(HttpRequest& req) const;
  // "METHOD /pattern" of every route, for the OpenAPI coverage test.
  std::vector<std::string> route_list() const;

 private:
  const Route* find(std::string_view method, std::string_view path, std::map<std::string, std::string>& params,
                    bool& path_matched) const;
  // Authentication, role, rate limit and the handler, for a route find() already looked up (or not found).
  HttpResponse dispatch(HttpRequest& req, const Route* found, std::map<std::string, std::string> params,
                        bool path_matched) const;

  Authenticator authenticate_;
  RateLimiter limit_;
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // each route's pattern split at '/', parallel to routes_
};

// Storage failures become problem documents here, once, for every route that wraps its handler in it:
// MySQL unreachable is 503 not_ready with Retry-After; anything else unexpected is 500 internal.
RouteHandler guarded(RouteHandler h);

// JSON helpers shared by handlers.
HttpResponse json_response(int status, const nlohmann::json& body);
HttpResponse problem_response(const RequestContext& ctx, const Problem& p);

}  // namespace emtiaz::gateway
