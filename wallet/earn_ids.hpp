#pragma once
// An earn's id names its member, so that a purchase refund (`POST /v1/earn/{id}/refund`) goes to the member's
// partition like any other command, with no look-up: the gateway had to find the earn's member in MySQL, on a
// worker, for every refund (docs/performance.md). Ids stay opaque to clients (api.md); partners already know
// a member's id (`mem_...` is a member reference).
//
// Form: "ern_" + R + "_" + S, 40 bytes, where the member is "mem_" + S (S base62, 1 to 24 characters: every id
// new_id makes) and R is random base62 filling the rest (at least 11 characters, 65 bits; only one member's
// earns share an S). A member id of any other form gets a plain new_id("ern"), and so does every earn made
// before this form: neither names a member, and the gateway finds those as it did.
//
// The name decides only where a refund is applied, never whether it is: the wallet refunds only an earn it
// finds in that member's own records, made by the refunding partner (wallet/applier.cpp), so an id naming
// another member is answered 404 as any unknown earn is, with no effect on anyone.
#include <optional>
#include <string>
#include <string_view>

namespace emtiaz::wallet {

inline constexpr std::size_t kEarnIdBytes = 40;  // earns.id and every earn_id column are VARCHAR(40)

std::string new_earn_id(std::string_view member_id);

// The member an earn id names; nullopt for an id that names none (an older id, or not an earn id).
std::optional<std::string> member_of_earn_id(std::string_view earn_id);

}  // namespace emtiaz::wallet
