#pragma once
// The one place where stable error codes become HTTP: one enum, one table to status and title
// (conventions.md #7). Everything else in the code base speaks in `Code` values.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace emtiaz {

enum class Code {
  malformed_json,
  invalid_field,
  invalid_amount,
  invalid_phone,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  payload_too_large,
  header_too_large,
  request_timeout,
  rate_limited,
  internal,
  idempotency_key_required,
  idempotency_key_reused,
  idempotency_key_in_use,
  insufficient_points,
  duplicate_receipt,
  redemption_not_authorized,
  refund_exceeds_purchase,
  refund_exceeds_redemption,
  partner_suspended,
  member_not_found,
  outcome_unknown,
  not_ready,
  period_not_ended,
  period_gap,
  period_overlaps,
  settlement_not_ready,
};

struct CodeInfo {
  int status;
  std::string_view name;
  std::string_view title;
};

const CodeInfo& code_info(Code code);
int http_status(Code code);
std::string_view code_name(Code code);

// A problem document (RFC 9457) before it is rendered. `extra` members are merged into the document
// (e.g. `field` for invalid_field, `down` for not_ready).
struct Problem {
  Code code;
  std::string detail;
  nlohmann::json extra = nlohmann::json::object();
};

Problem problem(Code code, std::string detail);
Problem invalid_field(std::string_view field, std::string_view why);

// Renders the problem document; request_id is included so a partner can quote it to support.
std::string render_problem(const Problem& p, std::string_view request_id);

// Whether a response to a request with an Idempotency-Key is stored for replay: 2xx, and business outcomes
// (409/422 with a business code such as insufficient_points, duplicate_receipt). Not stored: validation
// failures (400/413/422 invalid_*), 401/403/404, 409 idempotency_key_*, 5xx — those may be retried with the
// same key. The gateway and the wallet (which completes a command's reservation) both ask this.
bool is_stored_response(int status, std::string_view code);
// The same for a response as sent: its status and body (the problem document's `code` decides for an error).
bool is_stored_outcome(int status, std::string_view body);

}  // namespace emtiaz
