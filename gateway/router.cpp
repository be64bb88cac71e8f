#include "gateway/router.hpp"

#include <spdlog/spdlog.h>

#include "common/blocking.hpp"
#include "common/crypto.hpp"
#include "common/metrics.hpp"
#include "common/mysql.hpp"

namespace emtiaz::gateway {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  if (!path.empty() && path.front() == '/') pos = 1;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    out.push_back(path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

bool match(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path,
           std::map<std::string, std::string>& params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto& p = pattern[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      if (path[i].empty()) return false;
    } else if (p != path[i]) {
      return false;
    }
  }
  params.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto& p = pattern[i];
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') params[p.substr(1, p.size() - 2)] = std::string(path[i]);
  }
  return true;
}

}  // namespace

void Router::add(Route route) {
  std::vector<std::string> segments;
  for (auto part : split_path(route.pattern)) segments.emplace_back(part);
  segments_.push_back(std::move(segments));
  routes_.push_back(std::move(route));
}

const Route* Router::find(std::string_view method, std::string_view path, std::map<std::string, std::string>& params,
                          bool& path_matched) const {
  const auto parts = split_path(path);
  path_matched = false;
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (!match(segments_[i], parts, params)) continue;
    path_matched = true;
    if (routes_[i].method == method) return &routes_[i];
  }
  return nullptr;
}

std::optional<HttpResponse> Router::try_inline(HttpRequest& req) const {
  std::map<std::string, std::string> params;
  bool path_matched = false;
  const Route* found = find(req.method(), req.path, params, path_matched);
  if (!found || !found->inline_ok) return std::nullopt;
  NoBlockingScope scope;
  try {
    return dispatch(req, found, std::move(params), path_matched);
  } catch (const WouldBlock&) {
    // Tried on an I/O thread, it needs MySQL or a wait for Redis: a worker answers it (a cache miss, a rate
    // limit lease not in hand). Counted: in steady use this stays near zero.
    Metrics::global().add("emtiaz_gateway_inline_requests_moved_total");
    return std::nullopt;
  }
}

std::vector<std::string> Router::route_list() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.method + " " + r.pattern);
  return out;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  return HttpResponse::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse problem_response(const RequestContext& ctx, const Problem& p) {
  auto r = HttpResponse::from_problem(p, ctx.req.request_id);
  r.route = ctx.route;
  return r;
}

HttpResponse Router::handle(HttpRequest& req) const {
  std::map<std::string, std::string> params;
  bool path_matched = false;
  const Route* found = find(req.method(), req.path, params, path_matched);
  return dispatch(req, found, std::move(params), path_matched);
}

HttpResponse Router::dispatch(HttpRequest& req, const Route* found, std::map<std::string, std::string> params,
                              bool path_matched) const {
  RequestContext ctx{req, {}, std::move(params), found ? found->method + " " + found->pattern : "unmatched"};
  if (!found) {
    auto code = path_matched ? Code::method_not_allowed : Code::not_found;
    return problem_response(ctx, problem(code, path_matched ? "method not allowed on this resource" : "no such resource"));
  }
  if (!(found->roles & kPublic)) {
    auto auth = req.header("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (!auth || auth->size() <= bearer.size() || auth->compare(0, bearer.size(), bearer) != 0)
      return problem_response(ctx, problem(Code::unauthorized, "a bearer token is required"));
    auto principal = authenticate_(auth->substr(bearer.size()));
    if (!principal) return problem_response(ctx, problem(Code::unauthorized, "unknown or revoked token"));
    ctx.principal = *principal;
    unsigned role = 0;
    if (principal->kind == Principal::Kind::admin) role = kAdmin;
    if (principal->kind == Principal::Kind::operator_) role = kOperator;
    if (principal->kind == Principal::Kind::partner) role = kPartner;
    if (!(found->roles & role)) return problem_response(ctx, problem(Code::forbidden, "this principal may not call this route"));
    if (principal->suspended) return problem_response(ctx, problem(Code::partner_suspended, "this partner is suspended"));
    if (limit_ && !req.limits_counted) {
      // Counted once, also when the request moves from an I/O thread to a worker; a limiter that would wait
      // for its counter throws WouldBlock before counting, and the request is counted on the worker.
      auto wait = limit_(*principal);
      req.limits_counted = true;
      if (wait) {
        auto r = problem_response(ctx, problem(Code::rate_limited, "too many requests for this API key; slow down"));
        r.headers.emplace_back("Retry-After", std::to_string(*wait));
        return r;
      }
    }
  }
  auto resp = found->handler(ctx);
  resp.route = ctx.route;
  return resp;
}

RouteHandler guarded(RouteHandler h) {
  return [h = std::move(h)](RequestContext& ctx) -> HttpResponse {
    try {
      return h(ctx);
    } catch (const MysqlUnavailable& e) {
      spdlog::warn("request_id={} {}: {}", ctx.req.request_id, ctx.route, e.what());
      auto r = problem_response(ctx, problem(Code::not_ready, "the database is unavailable; retry shortly"));
      r.headers.emplace_back("Retry-After", "1");
      return r;
    } catch (const std::exception& e) {
      spdlog::error("request_id={} {}: {}", ctx.req.request_id, ctx.route, e.what());
      return problem_response(ctx, problem(Code::internal, "internal error"));
    }
  };
}

}  // namespace emtiaz::gateway
