#include "gateway/settlement_handlers.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "clearing/settlement_repository.hpp"
#include "common/time.hpp"
#include "gateway/idempotency.hpp"
#include "gateway/json_input.hpp"
#include "gateway/pagination.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {
namespace {

// How long a close waits for clearing to catch up to `to` (api.md: 30 s), and the Retry-After then.
constexpr std::chrono::seconds kCatchUpWait{30};
constexpr const char* kRetryAfterSeconds = "5";

struct Repos {
  Repos(MysqlPool& pool, int partitions) : tenants(pool), settlements(pool, partitions), idempotency(pool) {}
  tenants::TenantRepository tenants;
  clearing::SettlementRepository settlements;
  IdempotencyStore idempotency;
};


std::int64_t micros(Instant t) { return t.time_since_epoch().count(); }

// The period asked for: [from, to) in microseconds, or the problem.
std::variant<std::pair<std::int64_t, std::int64_t>, Problem> read_period(const nlohmann::json& body,
                                                                         const tenants::Tenant& t) {
  const bool has_period = body.contains("period");
  const bool has_range = body.contains("from") || body.contains("to");
  if (has_period && has_range) return invalid_field("period", "give either period or from and to, not both");
  if (has_period) {
    if (!body["period"].is_string()) return invalid_field("period", "must be a string like \"1404-09\"");
    auto p = parse_period(body["period"].get<std::string>(), t.calendar);
    if (!p) return invalid_field("period", "must be a month of the tenant's calendar, \"YYYY-MM\"");
    auto [from, to] = period_bounds(*p, t.timezone, t.calendar);
    return std::pair{micros(from), micros(to)};
  }
  std::optional<Instant> times[2];
  const char* names[2] = {"from", "to"};
  for (int i = 0; i < 2; ++i) {
    if (!body.contains(names[i])) return invalid_field(names[i], "is required (or give period)");
    if (!body[names[i]].is_string()) return invalid_field(names[i], "must be an RFC 3339 time with offset");
    times[i] = parse_rfc3339(body[names[i]].get<std::string>());
    if (!times[i]) return invalid_field(names[i], "must be an RFC 3339 time with offset");
  }
  if (*times[1] <= *times[0]) return invalid_field("to", "must be after from");
  return std::pair{micros(*times[0]), micros(*times[1])};
}

bool wants_csv(const RequestContext& ctx) {
  auto accept = ctx.req.header("Accept");
  return accept && accept->find("text/csv") != std::string::npos;
}

}  // namespace

void register_settlement_routes(Router& router, App& app) {
  auto repos = std::make_shared<Repos>(app.mysql, app.config.kafka.partitions);

  router.add({"POST", "/v1/settlements", kOperator, guarded([repos](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                const auto& body = std::get<nlohmann::json>(parsed);
                return with_idempotency(ctx, repos->idempotency, body, [&] {
                  auto t = repos->tenants.get(ctx.principal.tenant_id);
                  if (!t) return problem_response(ctx, problem(Code::not_found, "no such tenant"));
                  auto period = read_period(body, *t);
                  if (auto* p = std::get_if<Problem>(&period)) return problem_response(ctx, *p);
                  auto [from, to] = std::get<std::pair<std::int64_t, std::int64_t>>(period);
                  if (to > micros(now_utc()))
                    return problem_response(ctx, problem(Code::period_not_ended, "the period has not ended yet"));
                  auto rule_problem = [&](clearing::CloseError e) {
                    if (e == clearing::CloseError::overlaps)
                      return problem_response(ctx, problem(Code::period_overlaps, "the period overlaps a closed settlement"));
                    if (e == clearing::CloseError::figures_out_of_range)
                      return problem_response(ctx, problem(Code::invalid_amount,
                                                           "the period's figures exceed what a settlement can state "
                                                           "(int64 rial and points); close it as shorter periods"));
                    return problem_response(ctx, problem(Code::period_gap,
                                                         "settlements are contiguous: the first starts at or before the "
                                                         "tenant's first ledger event, each later one at the previous one's end"));
                  };
                  if (auto e = repos->settlements.check_rules(t->id, from, to)) return rule_problem(*e);
                  if (!repos->settlements.wait_caught_up(to, kCatchUpWait)) {
                    auto r = problem_response(ctx, problem(Code::settlement_not_ready,
                                                           "clearing has not yet seen every event before the period's end; retry later"));
                    r.headers.emplace_back("Retry-After", kRetryAfterSeconds);
                    return r;
                  }
                  auto closed = repos->settlements.close(t->id, t->timezone, from, to);
                  if (auto* e = std::get_if<clearing::CloseError>(&closed)) return rule_problem(*e);
                  return HttpResponse::json(201, std::get<clearing::StoredSettlement>(closed).body);
                });
              })});

  router.add({"GET", "/v1/settlements", kOperator, guarded([repos](RequestContext& ctx) {
                auto params = parse_list_params(ctx.req, "s");
                if (auto* p = std::get_if<Problem>(&params)) return problem_response(ctx, *p);
                const auto& lp = std::get<ListParams>(params);
                auto page = repos->settlements.list(ctx.principal.tenant_id, lp.limit, lp.position);
                nlohmann::json items = nlohmann::json::array();
                for (const auto& s : page.items) items.push_back(nlohmann::json::parse(s.body));
                nlohmann::json j = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                if (page.next_before_seq) j["next_cursor"] = encode_cursor("s", *page.next_before_seq);
                return json_response(200, j);
              })});

  router.add({"GET", "/v1/settlements/{id}", kOperator, guarded([repos](RequestContext& ctx) {
                auto s = repos->settlements.get(ctx.principal.tenant_id, ctx.params.at("id"));
                if (!s) return problem_response(ctx, problem(Code::not_found, "no such settlement"));
                if (wants_csv(ctx)) {
                  HttpResponse r;
                  r.status = 200;
                  r.content_type = "text/csv; charset=utf-8";
                  r.body = s->csv;
                  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + s->id + ".csv\"");
                  return r;
                }
                return HttpResponse::json(200, s->body);
              })});
}

}  // namespace emtiaz::gateway
