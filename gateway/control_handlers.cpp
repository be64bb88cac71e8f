#include "gateway/control_handlers.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "gateway/idempotency.hpp"
#include "gateway/json_input.hpp"
#include "gateway/members_repository.hpp"
#include "gateway/pagination.hpp"
#include "partners/partner_repository.hpp"
#include "tenants/tenant_repository.hpp"

namespace emtiaz::gateway {
namespace {

struct Repos {
  explicit Repos(MysqlPool& pool) : tenants(pool), partners(pool), members(pool), idempotency(pool) {}
  tenants::TenantRepository tenants;
  partners::PartnerRepository partners;
  MemberRepository members;
  IdempotencyStore idempotency;
};

HttpResponse not_found(const RequestContext& ctx, const char* what) {
  return problem_response(ctx, problem(Code::not_found, std::string("no such ") + what));
}

// The caller's tenant (operator or partner). Its absence would mean a token of a deleted tenant.
std::optional<tenants::Tenant> caller_tenant(Repos& repos, const RequestContext& ctx) {
  return repos.tenants.get(ctx.principal.tenant_id);
}

}  // namespace

void register_control_routes(Router& router, App& app) {
  auto repos = std::make_shared<Repos>(app.mysql);

  // ------------------------------------------------------------------------------------------- tenants
  router.add({"POST", "/v1/tenants", kAdmin, guarded([repos](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                const auto& body = std::get<nlohmann::json>(parsed);
                // The tenant and the record of this answer (with its operator token) commit together.
                return with_idempotent_transaction(ctx, repos->idempotency, body, [&](sql::Connection& c) {
                  auto fields = tenants::parse_tenant_fields(body, /*creating=*/true);
                  if (auto* p = std::get_if<Problem>(&fields)) return problem_response(ctx, *p);
                  auto created = repos->tenants.create(c, std::get<tenants::TenantFields>(fields));
                  auto j = tenants::to_json(created.tenant);
                  j["operator_token"] = created.operator_token;
                  return json_response(201, j);
                });
              })});

  router.add({"GET", "/v1/tenant", kOperator, guarded([repos](RequestContext& ctx) {
                auto t = caller_tenant(*repos, ctx);
                if (!t) return not_found(ctx, "tenant");
                return json_response(200, tenants::to_json(*t));
              })});

  router.add({"PATCH", "/v1/tenant", kOperator, guarded([repos, &app](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                auto fields = tenants::parse_tenant_fields(std::get<nlohmann::json>(parsed), /*creating=*/false);
                if (auto* p = std::get_if<Problem>(&fields)) return problem_response(ctx, *p);
                auto t = repos->tenants.patch(ctx.principal.tenant_id, std::get<tenants::TenantFields>(fields));
                app.lookups.tenants.invalidate(ctx.principal.tenant_id);
                if (!t) return not_found(ctx, "tenant");
                return json_response(200, tenants::to_json(*t));
              })});

  // ------------------------------------------------------------------------------------------ partners
  router.add({"POST", "/v1/partners", kOperator, guarded([repos](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                const auto& body = std::get<nlohmann::json>(parsed);
                // The partner, its first key and the record of this answer commit together.
                return with_idempotent_transaction(ctx, repos->idempotency, body, [&](sql::Connection& c) {
                  auto fields = partners::parse_partner_fields(body, /*creating=*/true);
                  if (auto* p = std::get_if<Problem>(&fields)) return problem_response(ctx, *p);
                  auto t = repos->tenants.get(c, ctx.principal.tenant_id);
                  if (!t) return not_found(ctx, "tenant");
                  auto created = repos->partners.create(c, t->id, std::get<partners::PartnerFields>(fields));
                  auto j = partners::to_json(created.partner, t->timezone);
                  j["api_key"] = created.api_key;
                  j["key_id"] = created.key_id;
                  return json_response(201, j);
                });
              })});

  router.add({"GET", "/v1/partners", kOperator, guarded([repos](RequestContext& ctx) {
                auto params = parse_list_params(ctx.req, "p");
                if (auto* p = std::get_if<Problem>(&params)) return problem_response(ctx, *p);
                const auto& lp = std::get<ListParams>(params);
                auto t = caller_tenant(*repos, ctx);
                if (!t) return not_found(ctx, "tenant");
                auto page = repos->partners.list(t->id, lp.limit, lp.position);
                nlohmann::json items = nlohmann::json::array();
                for (const auto& p : page.items) items.push_back(partners::to_json(p, t->timezone));
                nlohmann::json j = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                if (page.next_before_seq) j["next_cursor"] = encode_cursor("p", *page.next_before_seq);
                return json_response(200, j);
              })});

  router.add({"GET", "/v1/partners/{id}", kOperator, guarded([repos](RequestContext& ctx) {
                auto t = caller_tenant(*repos, ctx);
                if (!t) return not_found(ctx, "tenant");
                auto p = repos->partners.get(t->id, ctx.params.at("id"));
                if (!p) return not_found(ctx, "partner");
                return json_response(200, partners::to_json(*p, t->timezone));
              })});

  router.add({"PATCH", "/v1/partners/{id}", kOperator, guarded([repos, &app](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                auto fields = partners::parse_partner_fields(std::get<nlohmann::json>(parsed), /*creating=*/false);
                if (auto* p = std::get_if<Problem>(&fields)) return problem_response(ctx, *p);
                auto t = caller_tenant(*repos, ctx);
                if (!t) return not_found(ctx, "tenant");
                auto p = repos->partners.patch(t->id, ctx.params.at("id"), std::get<partners::PartnerFields>(fields));
                app.lookups.partners.invalidate(t->id + '\n' + ctx.params.at("id"));
                if (!p) return not_found(ctx, "partner");
                return json_response(200, partners::to_json(*p, t->timezone));
              })});

  router.add({"POST", "/v1/partners/{id}/keys", kOperator, guarded([repos](RequestContext& ctx) {
                // The body is empty or {}; anything else is still accepted and ignored.
                auto parsed = parse_object(ctx.req.body(), /*allow_empty=*/true);
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                const auto& body = std::get<nlohmann::json>(parsed);
                return with_idempotent_transaction(ctx, repos->idempotency, body, [&](sql::Connection& c) {
                  auto k = repos->partners.mint_key(c, ctx.principal.tenant_id, ctx.params.at("id"));
                  if (!k) return not_found(ctx, "partner");
                  return json_response(201, {{"key_id", k->key_id}, {"api_key", k->api_key}});
                });
              })});

  router.add({"DELETE", "/v1/partners/{id}/keys/{key_id}", kOperator, guarded([repos](RequestContext& ctx) {
                auto r = repos->partners.revoke_key(ctx.principal.tenant_id, ctx.params.at("id"), ctx.params.at("key_id"));
                if (r == partners::RevokeResult::not_found) return not_found(ctx, "key");
                HttpResponse resp;
                resp.status = 204;
                return resp;
              })});

  // ------------------------------------------------------------------------------------------- members
  router.add({"POST", "/v1/members", kPartner | kOperator, guarded([repos, &app](RequestContext& ctx) {
                auto parsed = parse_object(ctx.req.body());
                if (auto* p = std::get_if<Problem>(&parsed)) return problem_response(ctx, *p);
                const auto& body = std::get<nlohmann::json>(parsed);
                // Enrolment is idempotent by phone by itself (a second try finds the member), so its record
                // may follow it in a statement of its own.
                return with_idempotency(ctx, repos->idempotency, body, [&] {
                  auto fields = parse_member_fields(body);
                  if (auto* p = std::get_if<Problem>(&fields)) return problem_response(ctx, *p);
                  auto t = caller_tenant(*repos, ctx);
                  if (!t) return not_found(ctx, "tenant");
                  auto [member, created] = repos->members.enroll(t->id, std::get<MemberFields>(fields));
                  // The phone's entry in the member index, so that its first earn needs no MySQL look-up.
                  index_member(app.redis, t->id, {MemberRef::Kind::phone, member.phone}, member.id);
                  return json_response(created ? 201 : 200, to_json(member, t->timezone));
                });
              })});

  router.add({"GET", "/v1/members/{member}", kPartner | kOperator, guarded([repos](RequestContext& ctx) {
                auto t = caller_tenant(*repos, ctx);
                if (!t) return not_found(ctx, "tenant");
                auto m = repos->members.resolve(t->id, ctx.params.at("member"), /*auto_enroll=*/false);
                if (auto* p = std::get_if<Problem>(&m)) return problem_response(ctx, *p);
                return json_response(200, to_json(std::get<Member>(m), t->timezone));
              })});
}

}  // namespace emtiaz::gateway
