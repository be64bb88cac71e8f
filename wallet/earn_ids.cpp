#include "wallet/earn_ids.hpp"

#include <algorithm>

#include "common/crypto.hpp"
#include "common/ids.hpp"

namespace emtiaz::wallet {
namespace {

constexpr std::string_view kEarnPrefix = "ern_";
constexpr std::string_view kMemberPrefix = "mem_";
constexpr std::size_t kMaxMemberPart = 24;
constexpr std::size_t kMinRandom = kEarnIdBytes - kEarnPrefix.size() - 1 - kMaxMemberPart;  // 11

bool base62(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

}  // namespace

std::string new_earn_id(std::string_view member_id) {
  if (!member_id.starts_with(kMemberPrefix)) return new_id("ern");
  const auto member = member_id.substr(kMemberPrefix.size());
  if (member.size() > kMaxMemberPart || !base62(member)) return new_id("ern");
  std::string id(kEarnPrefix);
  id += random_base62(kEarnIdBytes - kEarnPrefix.size() - 1 - member.size());
  id += '_';
  id += member;
  return id;
}

std::optional<std::string> member_of_earn_id(std::string_view earn_id) {
  if (!earn_id.starts_with(kEarnPrefix) || earn_id.size() > kEarnIdBytes) return std::nullopt;
  const auto rest = earn_id.substr(kEarnPrefix.size());
  const auto sep = rest.find('_');
  if (sep == std::string_view::npos || sep < kMinRandom || !base62(rest.substr(0, sep))) return std::nullopt;
  const auto member = rest.substr(sep + 1);
  if (member.size() > kMaxMemberPart || !base62(member)) return std::nullopt;
  return std::string(kMemberPrefix) + std::string(member);
}

}  // namespace emtiaz::wallet
