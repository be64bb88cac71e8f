#include "common/errors.hpp"

#include <array>
#include <fmt/format.h>

namespace emtiaz {
namespace {

// Indexed by Code; the static_assert below keeps it in step with the enum.
constexpr std::array kCodes = {
    CodeInfo{400, "malformed_json", "Malformed JSON"},
    CodeInfo{422, "invalid_field", "Invalid field"},
    CodeInfo{422, "invalid_amount", "Invalid amount"},
    CodeInfo{422, "invalid_phone", "Invalid phone number"},
    CodeInfo{401, "unauthorized", "Unauthorized"},
    CodeInfo{403, "forbidden", "Forbidden"},
    CodeInfo{404, "not_found", "Not found"},
    CodeInfo{405, "method_not_allowed", "Method not allowed"},
    CodeInfo{413, "payload_too_large", "Payload too large"},
    CodeInfo{431, "header_too_large", "Request header fields too large"},
    CodeInfo{408, "request_timeout", "Request timeout"},
    CodeInfo{429, "rate_limited", "Too many requests"},
    CodeInfo{500, "internal", "Internal error"},
    CodeInfo{400, "idempotency_key_required", "Idempotency-Key required"},
    CodeInfo{409, "idempotency_key_reused", "Idempotency key reused"},
    CodeInfo{409, "idempotency_key_in_use", "Idempotency key in use"},
    CodeInfo{422, "insufficient_points", "Insufficient points"},
    CodeInfo{409, "duplicate_receipt", "Duplicate receipt"},
    CodeInfo{409, "redemption_not_authorized", "Redemption not authorized"},
    CodeInfo{422, "refund_exceeds_purchase", "Refund exceeds purchase"},
    CodeInfo{422, "refund_exceeds_redemption", "Refund exceeds redemption"},
    CodeInfo{403, "partner_suspended", "Partner suspended"},
    CodeInfo{404, "member_not_found", "Member not found"},
    CodeInfo{503, "outcome_unknown", "Outcome unknown"},
    CodeInfo{503, "not_ready", "Service Unavailable"},
    CodeInfo{422, "period_not_ended", "Period not ended"},
    CodeInfo{422, "period_gap", "Period gap"},
    CodeInfo{409, "period_overlaps", "Period overlaps"},
    CodeInfo{503, "settlement_not_ready", "Settlement not ready"},
};
static_assert(kCodes.size() == static_cast<size_t>(Code::settlement_not_ready) + 1);

}  // namespace

const CodeInfo& code_info(Code code) { return kCodes.at(static_cast<size_t>(code)); }
int http_status(Code code) { return code_info(code).status; }
std::string_view code_name(Code code) { return code_info(code).name; }

Problem problem(Code code, std::string detail) { return Problem{code, std::move(detail)}; }

Problem invalid_field(std::string_view field, std::string_view why) {
  Problem p{Code::invalid_field, fmt::format("{}: {}", field, why)};
  p.extra["field"] = std::string(field);
  return p;
}

std::string render_problem(const Problem& p, std::string_view request_id) {
  const auto& info = code_info(p.code);
  nlohmann::json doc = {
      {"type", "about:blank"},
      {"title", info.title},
      {"status", info.status},
      {"code", info.name},
      {"detail", p.detail},
  };
  for (const auto& [k, v] : p.extra.items()) doc[k] = v;
  if (!request_id.empty()) doc["request_id"] = std::string(request_id);
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// Business outcomes: the request was valid and authorized, and this is its answer. Replaying them is what
// makes a retry safe ("nothing happens twice").
constexpr std::array<std::string_view, 8> kBusinessCodes = {
    "insufficient_points",     "duplicate_receipt",         "redemption_not_authorized",
    "refund_exceeds_purchase", "refund_exceeds_redemption", "period_not_ended",
    "period_gap",              "period_overlaps",
};

}  // namespace

bool is_stored_response(int status, std::string_view code) {
  if (status >= 200 && status < 300) return true;
  if (status != 409 && status != 422) return false;
  for (auto c : kBusinessCodes)
    if (c == code) return true;
  return false;
}

bool is_stored_outcome(int status, std::string_view body) {
  std::string code;
  if (status >= 400) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("code") && doc["code"].is_string()) code = doc["code"].get<std::string>();
  }
  return is_stored_response(status, code);
}

}  // namespace emtiaz
