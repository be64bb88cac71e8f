// gateway/router: Router::handle on a request built from raw bytes, with the API's real routes (methods,
// path templates and principals, read from api/openapi.yaml, which gateway_unit_tests' OpenApiRoutes keeps
// equal to the served table) and trivial handlers, so that only matching, authentication and role checks
// run. The request goes through the same path/query splitting and percent-decoding the HTTP server does.
//
// Input layout: line 1 = method, line 2 = target, line 3 = Authorization header value (absent when the
// line is empty), rest = body. Tokens "admin", "op", "partner", "suspended" and "limited" (a partner over its
// rate) authenticate; others do not.
//
// Properties: the response's route label is "unmatched" or a registered "METHOD /template" (never a raw
// path); a handler only runs for a principal the route allows; path parameters are non-empty and free of
// '/'; problem responses are valid JSON with the status of their code.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "common/http_server.hpp"
#include "fuzz/fuzz_check.hpp"
#include "gateway/router.hpp"

#ifndef EMTIAZ_SOURCE_DIR
#error "EMTIAZ_SOURCE_DIR must be defined"
#endif

namespace {

using namespace emtiaz;
using namespace emtiaz::gateway;

struct World {
  Router router{[](const std::string& token) -> std::optional<Principal> {
    Principal p;
    if (token == "admin") {
      p.kind = Principal::Kind::admin;
    } else if (token == "op") {
      p.kind = Principal::Kind::operator_;
      p.tenant_id = "ten_1";
    } else if (token == "partner" || token == "suspended" || token == "limited") {
      p.kind = Principal::Kind::partner;
      p.tenant_id = "ten_1";
      p.partner_id = token == "limited" ? "par_limited" : "par_1";
      p.suspended = token == "suspended";
    } else {
      return std::nullopt;
    }
    return p;
  },
  [](const Principal& p) -> std::optional<int> {
    if (p.partner_id == "par_limited") return 7;
    return std::nullopt;
  }};
  std::set<std::string> labels;
  std::map<std::string, unsigned> roles;  // label -> allowed roles
};

unsigned role_of(const Principal& p) {
  switch (p.kind) {
    case Principal::Kind::admin: return kAdmin;
    case Principal::Kind::operator_: return kOperator;
    case Principal::Kind::partner: return kPartner;
    default: return 0;
  }
}

World* build_world() {
  auto* w = new World;
  auto doc = YAML::LoadFile(std::string(EMTIAZ_SOURCE_DIR) + "/api/openapi.yaml");
  for (const auto& path : doc["paths"]) {
    const auto pattern = path.first.as<std::string>();
    for (const auto& op : path.second) {
      auto method = op.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      unsigned roles = 0;
      if (op.second["security"] && op.second["security"].IsSequence() && op.second["security"].size() == 0)
        roles = kPublic;
      for (const auto& who : op.second["x-principals"]) {
        auto name = who.as<std::string>();
        if (name == "platform_admin") roles |= kAdmin;
        if (name == "operator") roles |= kOperator;
        if (name == "partner") roles |= kPartner;
      }
      FUZZ_CHECK(roles != 0);  // every operation says who may call it
      const std::string label = method + " " + pattern;
      w->labels.insert(label);
      w->roles[label] = roles;
      w->router.add({method, pattern, roles, [label, roles](RequestContext& ctx) {
                       FUZZ_CHECK(ctx.route == label);
                       if (!(roles & kPublic)) {
                         FUZZ_CHECK(role_of(ctx.principal) & roles);
                         FUZZ_CHECK(!ctx.principal.suspended);
                       }
                       for (const auto& [name, value] : ctx.params) {
                         FUZZ_CHECK(!name.empty() && !value.empty());
                         FUZZ_CHECK(value.find('/') == std::string::npos);
                       }
                       HttpResponse r = HttpResponse::json(200, nlohmann::json{{"ok", true}}.dump());
                       r.headers.emplace_back("X-Handler", label);
                       return r;
                     }});
    }
  }
  FUZZ_CHECK(w->labels.size() >= 24);
  return w;
}

World& world() {
  static World* w = build_world();  // kept for the whole run: no leak report for a one-off set-up
  return *w;
}

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

// The HTTP server's split of a target into the decoded path and query (common/http_server.cpp, prepare()).
bool prepare(HttpRequest& req, std::string_view target) {
  auto qpos = target.find('?');
  auto path = percent_decode(target.substr(0, qpos));
  if (!path) return false;
  req.path = std::move(*path);
  if (qpos == std::string_view::npos) return true;
  std::string_view q = target.substr(qpos + 1);
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    auto k = percent_decode(part.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!k || !v) return false;
    if (!k->empty()) req.query[*k] = *v;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto method = next_line(in);
  const auto target = next_line(in);
  const auto auth = next_line(in);

  HttpRequest req;
  // Beast refuses methods and targets with control characters or spaces before a request reaches us.
  for (char c : method)
    if (c <= ' ' || c == 0x7f) return 0;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return 0;
  if (method.empty() || target.empty()) return 0;
  req.raw.method_string(boost::beast::string_view(method.data(), method.size()));
  req.raw.target(boost::beast::string_view(target.data(), target.size()));
  if (!auth.empty()) {
    for (char c : auth)
      if (c == '\r' || c == '\0') return 0;
    req.raw.set(boost::beast::http::field::authorization, boost::beast::string_view(auth.data(), auth.size()));
  }
  req.raw.body() = std::string(in);
  req.request_id = "req_fuzz";
  if (!prepare(req, target)) return 0;

  auto& w = world();
  HttpResponse resp = w.router.handle(req);
  FUZZ_CHECK(resp.route == "unmatched" || w.labels.count(resp.route));
  if (resp.route == "unmatched") FUZZ_CHECK(resp.status == 404 || resp.status == 405);

  const bool handled = !resp.headers.empty() && resp.headers.front().first == "X-Handler";
  if (handled) {
    FUZZ_CHECK(resp.status == 200 && resp.headers.front().second == resp.route);
  } else {
    FUZZ_CHECK(resp.content_type == "application/problem+json");
    auto body = nlohmann::json::parse(resp.body, nullptr, false);
    FUZZ_CHECK(!body.is_discarded() && body.is_object());
    FUZZ_CHECK(body.value("status", 0) == resp.status);
    FUZZ_CHECK(resp.status == 401 || resp.status == 403 || resp.status == 404 || resp.status == 405 ||
               resp.status == 429);
    if (resp.status == 429)
      FUZZ_CHECK(resp.headers.size() == 1 && resp.headers[0].first == "Retry-After" && resp.headers[0].second == "7");
  }
  // Public routes answer without a token; everything else never reaches its handler without one.
  if (handled && auth.empty()) FUZZ_CHECK(w.roles.at(resp.route) & kPublic);
  return 0;
}
