// member_states.state as the wallet stores it (wallet/stored_state.hpp): deflated behind one byte, in MariaDB's
// COMPRESS() layout, padded to a slot that most writes keep; JSON texts of older rows read as they are; a damaged
// value refused, never read as something else. And wallet_commands.response: the same without a slot.
#include "wallet/stored_state.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

#include "wallet/views.hpp"

namespace emtiaz::wallet {
namespace {

// A state-like text of `lots` lots (what the wallet stores is JSON of this shape; ids random, so it does not
// deflate to nothing).
std::string text_of(int lots, std::mt19937_64& rng) {
  std::string t = R"({"points":{"as_of":1796000000000000,"debt":0,"lots":[)";
  for (int i = 0; i < lots; ++i) {
    if (i) t += ',';
    t += R"({"amount_irr":)" + std::to_string(rng() % 10'000'000) + R"(,"earn_id":"ern_)" + std::to_string(rng()) +
         R"(","expires_at":)" + std::to_string(1827000000000000 + rng() % 1'000'000'000'000) + R"(,"id":"lot_)" +
         std::to_string(rng()) + R"(","points":)" + std::to_string(rng() % 900) + R"(,"seq":)" + std::to_string(i) +
         "}";
  }
  return t + R"(],"next_seq":1,"redemptions":[]},"receipts":{}})";
}

// What MariaDB's UNCOMPRESS(SUBSTRING(value, 2)) gives, done here with zlib itself: the operator's way to read a
// stored state (the integration test runs it in the server).
// *stream: how many bytes of the value the stream took (header included): the rest is the slot's padding.
std::string uncompress_as_mariadb(const std::string& value, std::size_t* stream) {
  EXPECT_GE(value.size(), 5u);
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(value[1 + i])) << (8 * i);
  std::string out(n, '\0');
  uLongf got = n;
  uLong used = static_cast<uLong>(value.size() - 5);
  EXPECT_EQ(
      uncompress2(reinterpret_cast<Bytef*>(out.data()), &got, reinterpret_cast<const Bytef*>(value.data() + 5), &used),
      Z_OK);
  EXPECT_EQ(got, n);
  *stream = 5 + used;
  return out;
}

TEST(StoredState, DeflatedBehindOneByteAsCompressWritesIt) {
  std::mt19937_64 rng(7);
  for (int lots : {0, 1, 5, 40, 300}) {
    const auto text = text_of(lots, rng);
    const auto value = encode_stored_state(text, 0);
    ASSERT_TRUE(is_deflated(value));
    EXPECT_EQ(value.front(), '\x01');
    std::size_t stream = 0;
    EXPECT_EQ(uncompress_as_mariadb(value, &stream), text) << lots << " lots";
    EXPECT_EQ(decode_stored_text(value), text) << lots << " lots";
    EXPECT_EQ(value.find_first_not_of(kPadding, stream), std::string::npos) << "only the padding after the stream";
    if (lots >= 5) {
      EXPECT_LT(stream * 2, text.size()) << "a state of " << lots << " lots deflates to less than half";
    }
    if (lots >= 300) {
      EXPECT_LT(value.size() * 2, text.size()) << "the slot's room is small beside a large state";
    }
  }
}

TEST(StoredState, AJsonTextOfAnOlderRowIsReadAsItIs) {
  const std::string text = R"({"points":{"as_of":0,"debt":0,"lots":[],"next_seq":1,"redemptions":[]},"receipts":{}})";
  EXPECT_FALSE(is_deflated(text));
  EXPECT_EQ(decode_stored_text(text), text);
  // Both forms read as the same state.
  const auto own = state_text(WalletState{});
  EXPECT_EQ(state_text(read_state_text(own)), own);
  EXPECT_EQ(state_text(read_state_text(encode_stored_state(own, 0))), own);
}

// A value deflated by zlib, as MariaDB's COMPRESS() and the wallet before the fortieth session wrote it, at any
// level, padded or not, reads as the text it holds.
TEST(StoredState, AStreamZlibWroteIsReadAsWell) {
  std::mt19937_64 rng(19);
  for (int level : {1, 6, 9}) {
    const auto text = text_of(12, rng);
    uLongf size = compressBound(static_cast<uLong>(text.size()));
    std::string value(5 + size, '\0');
    value[0] = kDeflated;
    for (int i = 0; i < 4; ++i) value[1 + i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(value.data() + 5), &size, reinterpret_cast<const Bytef*>(text.data()),
                        static_cast<uLong>(text.size()), level),
              Z_OK);
    value.resize(5 + size);
    EXPECT_EQ(decode_stored_text(value), text) << "level " << level;
    EXPECT_EQ(decode_stored_text(value + std::string(300, kPadding)), text) << "level " << level << ", in a slot";
  }
}

TEST(StoredState, MostWritesOfAGrowingStateKeepTheSlotAndEveryWriteFitsIt) {
  std::mt19937_64 rng(11);
  std::size_t stored = 0;  // the row's value length, as the wallet reads it back
  int kept = 0, writes = 0;
  for (int lots = 0; lots <= 60; ++lots) {
    const auto text = text_of(lots, rng);
    const auto value = encode_stored_state(text, stored);
    ASSERT_EQ(decode_stored_text(value), text);
    if (stored != 0) {
      ++writes;
      if (value.size() == stored) ++kept;
    }
    stored = value.size();
  }
  // A lot adds ~100 deflated bytes here; a new slot has room for a few more.
  EXPECT_GE(kept * 2, writes) << kept << " of " << writes << " writes kept the slot";
}

TEST(StoredState, AStateThatShrankMuchGetsASmallerSlot) {
  std::mt19937_64 rng(13);
  const auto big = encode_stored_state(text_of(200, rng), 0);
  const auto small_text = text_of(1, rng);
  const auto small = encode_stored_state(small_text, big.size());
  EXPECT_LT(small.size(), big.size() / 4) << "a slot is not kept when most of it would stay empty";
  EXPECT_EQ(decode_stored_text(small), small_text);
  // A state that shrank a little keeps its slot (and is updated in place).
  const auto text = text_of(20, rng);
  const auto first = encode_stored_state(text, 0);
  const auto again = encode_stored_state(text.substr(0, text.size() - 40) + "}", first.size());
  EXPECT_EQ(again.size(), first.size());
}

// A command's stored outcome (wallet_commands.response): the same layout with nothing after the stream, and a
// record from before migration 013 (its JSON text) read as it is.
TEST(StoredState, AnOutcomeIsDeflatedWithoutASlot) {
  std::mt19937_64 rng(11);
  for (const std::string& text : {std::string(R"({"points":50})"), text_of(3, rng), std::string()}) {
    const auto value = deflate_text(text);
    ASSERT_TRUE(is_deflated(value));
    std::size_t stream = 0;
    EXPECT_EQ(uncompress_as_mariadb(value, &stream), text);
    EXPECT_EQ(stream, value.size()) << "no padding after the stream";
    EXPECT_EQ(decode_stored_text(value), text);
  }
  const std::string old_record = R"({"type":"problem","status":409})";
  EXPECT_EQ(decode_stored_text(old_record), old_record);
  EXPECT_THROW(decode_stored_text(deflate_text(old_record).substr(0, 9)), std::runtime_error);
}

TEST(StoredState, ADamagedValueIsRefused) {
  std::mt19937_64 rng(17);
  const auto text = text_of(30, rng);
  const auto value = encode_stored_state(text, 0);
  EXPECT_THROW(decode_stored_text(value.substr(0, 3)), std::runtime_error);   // shorter than its header
  EXPECT_THROW(decode_stored_text(value.substr(0, 40)), std::runtime_error);  // the stream cut
  auto wrong_length = value;
  wrong_length[1] = static_cast<char>(wrong_length[1] + 1);
  EXPECT_THROW(decode_stored_text(wrong_length), std::runtime_error);
  auto huge = value;
  huge[4] = '\x7f';  // claims ~2 GB
  EXPECT_THROW(decode_stored_text(huge), std::runtime_error);
  for (int i = 0; i < 200; ++i) {  // random bytes after the marker: refused or read, never a crash
    std::string junk(1 + rng() % 300, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    junk[0] = '\x01';
    try {
      (void)read_state_text(junk);
    } catch (const std::exception&) {
    }
  }
  EXPECT_THROW(read_state_text(value.substr(0, 40)), std::runtime_error);
  // A value deflated twice is inflated once and refused: its text is not JSON.
  const auto own = state_text(WalletState{});
  EXPECT_NO_THROW(read_state_text(encode_stored_state(own, 0)));
  EXPECT_THROW(read_state_text(encode_stored_state(encode_stored_state(own, 0), 0)), std::exception);
}

}  // namespace
}  // namespace emtiaz::wallet
