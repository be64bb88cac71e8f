// gateway/members_repository: parse_member_ref (pure) on any bytes. Properties: an id reference is kept as
// given, a phone reference is normalised to E.164, a card reference is 16 ASCII digits; everything else is
// a 422 problem naming the field "member".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/phone.hpp"
#include "fuzz/fuzz_check.hpp"
#include "gateway/members_repository.hpp"

using emtiaz::gateway::MemberRef;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view ref(reinterpret_cast<const char*>(data), size);
  auto parsed = emtiaz::gateway::parse_member_ref(ref);
  if (auto* p = std::get_if<emtiaz::Problem>(&parsed)) {
    FUZZ_CHECK(p->code == emtiaz::Code::invalid_field || p->code == emtiaz::Code::invalid_phone);
    FUZZ_CHECK(p->extra.value("field", "") == "member");
    return 0;
  }
  const auto& m = std::get<MemberRef>(parsed);
  switch (m.kind) {
    case MemberRef::Kind::id:
      FUZZ_CHECK(ref.substr(0, 4) == "mem_" && m.value == ref);
      break;
    case MemberRef::Kind::phone:
      FUZZ_CHECK(ref.substr(0, 6) == "phone:");
      FUZZ_CHECK(m.value.size() == 13 && m.value.compare(0, 4, "+989") == 0);
      FUZZ_CHECK(emtiaz::normalize_iranian_mobile(m.value) == m.value);
      break;
    case MemberRef::Kind::card:
      FUZZ_CHECK(ref.substr(0, 5) == "card:" && m.value.size() == 16);
      for (char c : m.value) FUZZ_CHECK(c >= '0' && c <= '9');
      break;
  }
  return 0;
}
