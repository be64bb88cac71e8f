// The text-statement helpers that need no server: string escaping (checked against the client library and a
// real server in tests/integration/sql_text_test.cpp) and removing a mode from an sql_mode list.
#include "common/sql_util.hpp"

#include <gtest/gtest.h>

#include <string>

namespace emtiaz {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

TEST(AppendEscaped, PutsABackslashBeforeTheQuoteAndBackslashAndNamesTheControlBytes) {
  EXPECT_EQ(escaped("plain text"), "plain text");
  EXPECT_EQ(escaped(""), "");
  EXPECT_EQ(escaped("it's"), "it\\'s");
  // The double quote ends no single-quoted literal: it is left as it is (the client library escapes it).
  EXPECT_EQ(escaped("say \"hi\""), "say \"hi\"");
  EXPECT_EQ(escaped("{\"points\":1,\"id\":\"it's\"}"), "{\"points\":1,\"id\":\"it\\'s\"}");
  EXPECT_EQ(escaped("a\\b"), "a\\\\b");
  EXPECT_EQ(escaped(std::string("a\0b", 3)), "a\\0b");
  EXPECT_EQ(escaped("line\nnext\r"), "line\\nnext\\r");
  EXPECT_EQ(escaped("\032"), "\\Z");
  EXPECT_EQ(escaped("''\\\\"), "\\'\\'\\\\\\\\");
  // Tab and the other control bytes pass as they are (the client library leaves them too).
  EXPECT_EQ(escaped("a\tb\x01"), "a\tb\x01");
  // Eight bytes are scanned at a time: a byte to escape at each place of a word, and in the tail after it.
  for (size_t at = 0; at < 19; ++at) {
    std::string s(19, 'x'), want(19, 'x');
    s[at] = '\'';
    want.replace(at, 1, "\\'");
    EXPECT_EQ(escaped(s), want) << "at " << at;
    s[at] = '\x7f';  // not below a space, not a quote or a backslash: left
    EXPECT_EQ(escaped(s), s) << "at " << at;
    s[at] = '\xdc';  // a byte of a multi-byte character: left
    EXPECT_EQ(escaped(s), s) << "at " << at;
  }
}

TEST(AppendEscaped, LeavesMultiByteCharactersAlone) {
  EXPECT_EQ(escaped("امتیاز ۱۲۳"), "امتیاز ۱۲۳");
  EXPECT_EQ(escaped("😀'😀"), "😀\\'😀");
}

TEST(AppendEscaped, AppendsToWhatIsThere) {
  std::string out = "x='";
  append_escaped(out, "o'k");
  EXPECT_EQ(out, "x='o\\'k");
}

TEST(AppendHexLiteral, WritesEachByteAsTwoUpperCaseDigits) {
  std::string out = "v=";
  append_hex_literal(out, std::string("\0\x01\x7f\x80\xff'\\", 7));
  EXPECT_EQ(out, "v=X'00017F80FF275C'");
  out.clear();
  append_hex_literal(out, "");
  EXPECT_EQ(out, "X''");
}

TEST(WithoutSqlMode, RemovesOnlyTheNamedModeAndSaysWhenItWasAbsent) {
  EXPECT_EQ(without_sql_mode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES,NO_ZERO_DATE", "NO_BACKSLASH_ESCAPES"),
            "STRICT_TRANS_TABLES,NO_ZERO_DATE");
  EXPECT_EQ(without_sql_mode("NO_BACKSLASH_ESCAPES", "NO_BACKSLASH_ESCAPES"), "");
  EXPECT_EQ(without_sql_mode("NO_BACKSLASH_ESCAPES,ANSI_QUOTES", "NO_BACKSLASH_ESCAPES"), "ANSI_QUOTES");
  EXPECT_EQ(without_sql_mode("STRICT_TRANS_TABLES", "NO_BACKSLASH_ESCAPES"), std::nullopt);
  EXPECT_EQ(without_sql_mode("", "NO_BACKSLASH_ESCAPES"), std::nullopt);
  // A longer name that contains it is another mode.
  EXPECT_EQ(without_sql_mode("NO_BACKSLASH_ESCAPES_X", "NO_BACKSLASH_ESCAPES"), std::nullopt);
}

}  // namespace
}  // namespace emtiaz
