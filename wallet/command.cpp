#include "wallet/command.hpp"

#include <limits>

#include "points/points_json.hpp"
#include "wallet/text_reader.hpp"
#include "wallet/views.hpp"

namespace emtiaz::wallet {

std::string_view to_string(CommandType t) {
  switch (t) {
    case CommandType::earn: return "earn";
    case CommandType::purchase_refund: return "purchase_refund";
    case CommandType::authorize: return "authorize";
    case CommandType::capture: return "capture";
    case CommandType::void_redemption: return "void";
    case CommandType::redemption_refund: return "redemption_refund";
    case CommandType::adjust: return "adjust";
  }
  return "unknown";
}

std::optional<CommandType> parse_command_type(std::string_view s) {
  for (auto t : {CommandType::earn, CommandType::purchase_refund, CommandType::authorize, CommandType::capture,
                 CommandType::void_redemption, CommandType::redemption_refund, CommandType::adjust})
    if (to_string(t) == s) return t;
  return std::nullopt;
}

TenantSettings settings_of(const tenants::Tenant& t) {
  return TenantSettings{t.timezone, t.calendar, t.points_ttl, t.pending_period, t.hold_ttl};
}

PartnerSnapshot snapshot_of(const partners::Partner& p) {
  return PartnerSnapshot{p.id, p.name, p.issue_price_irr, p.redeem_value_irr, p.fee_bps, p.points_per_10k_irr};
}

std::string reservation_done_value(const std::string& fingerprint, int status, const std::string& body) {
  std::string out;
  out.reserve(body.size() + fingerprint.size() + 96);
  out += "{\"body\":";
  bool ascii = append_ascii_json_string(out, body);
  out += ",\"fp\":";
  ascii = ascii && append_ascii_json_string(out, fingerprint);
  // nlohmann's dump() refuses invalid UTF-8 where dump_json replaces it: only ASCII is written here.
  if (!ascii) return nlohmann::json{{"fp", fingerprint}, {"state", "done"}, {"status", status}, {"body", body}}.dump();
  out += ",\"state\":\"done\",\"status\":";
  out += std::to_string(status);
  out += '}';
  return out;
}

std::string arg_str(const Command& cmd, const char* name) {
  auto it = cmd.args.find(name);
  return it != cmd.args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string member_key(const std::string& tenant_id, const std::string& member_id) {
  return tenant_id + ":" + member_id;
}

nlohmann::json Command::to_json() const {
  nlohmann::json j = {
      {"v", 1},
      {"command_id", command_id},
      {"body_hash", body_hash},
      {"request_id", request_id},
      {"gateway", gateway},
      {"reply_partition", reply_partition},
      {"tenant_id", tenant_id},
      {"member_id", member_id},
      {"type", to_string(type)},
      {"tenant",
       {{"timezone", tenant.timezone},
        {"calendar", format_calendar(tenant.calendar)},
        {"points_ttl", format_iso_duration(tenant.points_ttl)},
        {"pending_period", format_iso_duration(tenant.pending_period)},
        {"hold_ttl", format_iso_duration(tenant.hold_ttl)}}},
      {"args", args},
  };
  if (!reservation.empty()) j["reservation"] = reservation;
  if (partner) {
    j["partner"] = {{"id", partner->id},
                    {"name", partner->name},
                    {"issue_price_irr", partner->issue_price_irr},
                    {"redeem_value_irr", partner->redeem_value_irr},
                    {"fee_bps", partner->fee_bps},
                    {"points_per_10k_irr", partner->points_per_10k_irr}};
  }
  return j;
}

namespace {

// ,"key": — the keys below are constants that need no escaping.
void append_key(std::string& out, std::string_view key, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
}

}  // namespace

std::string Command::dump() const {
  // The keys in nlohmann's order (an object is a std::map: sorted by key), so that the text is dump_json's.
  std::string out;
  out.reserve(640);
  out += '{';
  append_key(out, "args", true);
  out += dump_json(args);
  append_key(out, "body_hash");
  append_json_string(out, body_hash);
  append_key(out, "command_id");
  append_json_string(out, command_id);
  append_key(out, "gateway");
  append_json_string(out, gateway);
  append_key(out, "member_id");
  append_json_string(out, member_id);
  if (partner) {
    append_key(out, "partner");
    out += '{';
    append_key(out, "fee_bps", true);
    out += std::to_string(partner->fee_bps);
    append_key(out, "id");
    append_json_string(out, partner->id);
    append_key(out, "issue_price_irr");
    out += std::to_string(partner->issue_price_irr);
    append_key(out, "name");
    append_json_string(out, partner->name);
    append_key(out, "points_per_10k_irr");
    out += std::to_string(partner->points_per_10k_irr);
    append_key(out, "redeem_value_irr");
    out += std::to_string(partner->redeem_value_irr);
    out += '}';
  }
  append_key(out, "reply_partition");
  out += std::to_string(reply_partition);
  append_key(out, "request_id");
  append_json_string(out, request_id);
  if (!reservation.empty()) {
    append_key(out, "reservation");
    append_json_string(out, reservation);
  }
  append_key(out, "tenant");
  out += '{';
  append_key(out, "calendar", true);
  append_json_string(out, format_calendar(tenant.calendar));
  append_key(out, "hold_ttl");
  append_json_string(out, format_iso_duration(tenant.hold_ttl));
  append_key(out, "pending_period");
  append_json_string(out, format_iso_duration(tenant.pending_period));
  append_key(out, "points_ttl");
  append_json_string(out, format_iso_duration(tenant.points_ttl));
  append_key(out, "timezone");
  append_json_string(out, tenant.timezone);
  out += '}';
  append_key(out, "tenant_id");
  append_json_string(out, tenant_id);
  append_key(out, "type");
  append_json_string(out, to_string(type));
  append_key(out, "v");
  out += '1';
  out += '}';
  return out;
}

std::optional<Command> Command::from_json(const nlohmann::json& j) {
  if (points::contains_float(j)) return std::nullopt;
  try {
    Command c;
    c.command_id = j.at("command_id").get<std::string>();
    c.body_hash = j.at("body_hash").get<std::string>();
    c.request_id = j.value("request_id", "");
    c.gateway = j.at("gateway").get<std::string>();
    c.reply_partition = j.at("reply_partition").get<std::int32_t>();
    c.tenant_id = j.at("tenant_id").get<std::string>();
    c.member_id = j.at("member_id").get<std::string>();
    auto type = parse_command_type(j.at("type").get<std::string>());
    if (!type) return std::nullopt;
    c.type = *type;
    const auto& t = j.at("tenant");
    c.tenant.timezone = t.at("timezone").get<std::string>();
    auto cal = parse_calendar(t.at("calendar").get<std::string>());
    auto ttl = parse_iso_duration(t.at("points_ttl").get<std::string>());
    auto pending = parse_iso_duration(t.at("pending_period").get<std::string>());
    auto hold = parse_iso_duration(t.at("hold_ttl").get<std::string>());
    if (!cal || !ttl || !pending || !hold) return std::nullopt;
    c.tenant.calendar = *cal;
    c.tenant.points_ttl = *ttl;
    c.tenant.pending_period = *pending;
    c.tenant.hold_ttl = *hold;
    if (j.contains("partner") && j["partner"].is_object()) {
      const auto& p = j["partner"];
      c.partner = PartnerSnapshot{p.at("id").get<std::string>(),
                                  p.at("name").get<std::string>(),
                                  p.at("issue_price_irr").get<std::int64_t>(),
                                  p.at("redeem_value_irr").get<std::int64_t>(),
                                  p.at("fee_bps").get<std::int64_t>(),
                                  p.at("points_per_10k_irr").get<std::int64_t>()};
    }
    c.args = j.value("args", nlohmann::json::object());
    c.reservation = j.value("reservation", "");
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json Reply::to_json() const {
  nlohmann::json j = {{"command_id", command_id}, {"status", status}, {"body", body}, {"replayed", replayed}};
  if (reservation_done) j["reservation_done"] = true;
  return j;
}

void append_ledger_entry(std::string& out, const LedgerEntryText& e) {
  // The keys in nlohmann's order (an object is a std::map: sorted by key), so that the text is dump_json's.
  out += "{\"at\":";
  out += std::to_string(e.at_us);
  out += ",\"earn_id\":";
  append_json_string(out, e.earn_id);
  out += ",\"fee_bps\":";
  out += std::to_string(e.fee_bps);
  out += ",\"issue_price_irr\":";
  out += std::to_string(e.issue_price_irr);
  out += ",\"issuer\":";
  append_json_string(out, e.issuer);
  out += ",\"lot_id\":";
  append_json_string(out, e.lot_id);
  out += ",\"partner_id\":";
  append_json_string(out, e.partner_id);
  out += ",\"points\":";
  out += std::to_string(e.points);
  out += ",\"redeem_value_irr\":";
  out += std::to_string(e.redeem_value_irr);
  out += ",\"redemption_id\":";
  append_json_string(out, e.redemption_id);
  out += ",\"type\":";
  append_json_string(out, e.type);
  out += '}';
}

std::string ledger_event_text(const LedgerEventText& e) {
  std::string out;
  out.reserve(e.entries.size() + e.tenant_id.size() + e.member_id.size() + e.command_id.size() + 160);
  out += "{\"command_id\":";
  append_json_string(out, e.command_id);
  out += ",\"committed_at\":";
  out += std::to_string(e.committed_at_us);
  out += ",\"entries\":[";
  out += e.entries;
  out += "],\"kind\":\"ledger\",\"member_id\":";
  append_json_string(out, e.member_id);
  out += ",\"part\":";
  out += std::to_string(e.part);
  out += ",\"seq\":";
  out += std::to_string(e.seq);
  out += ",\"tenant_id\":";
  append_json_string(out, e.tenant_id);
  out += '}';
  return out;
}

std::string Reply::dump() const {
  std::string out;
  out.reserve(body.size() + command_id.size() + 112);
  out += "{\"body\":";
  append_json_string(out, body);
  out += ",\"command_id\":";
  append_json_string(out, command_id);
  out += replayed ? ",\"replayed\":true" : ",\"replayed\":false";
  if (reservation_done) out += ",\"reservation_done\":true";
  out += ",\"status\":";
  out += std::to_string(status);
  out += '}';
  return out;
}

std::optional<Reply> Reply::from_text(std::string_view text) {
  Reply r;
  TextReader t{text};
  if (!t.literal("{\"body\":") || !t.ascii_string(r.body) || !t.literal(",\"command_id\":") ||
      !t.ascii_string(r.command_id) || !t.literal(",\"replayed\":") || !t.boolean(r.replayed))
    return std::nullopt;
  if (t.literal(",\"reservation_done\":true")) r.reservation_done = true;
  if (!t.literal(",\"status\":")) return std::nullopt;
  // A status as Reply::dump writes one: a non-negative int without leading zeros.
  const auto status = t.unsigned_integer();
  if (!status || *status > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  r.status = static_cast<int>(*status);
  if (t.rest != "}") return std::nullopt;
  return r;
}

std::optional<Reply> Reply::parse(const std::string& text) {
  if (auto r = from_text(text)) return r;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return from_json(j);
}

std::optional<Reply> Reply::from_json(const nlohmann::json& j) {
  if (points::contains_float(j)) return std::nullopt;
  try {
    return Reply{j.at("command_id").get<std::string>(), j.at("status").get<int>(), j.at("body").get<std::string>(),
                 j.value("replayed", false), j.value("reservation_done", false)};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace emtiaz::wallet
