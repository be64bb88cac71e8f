#pragma once
// How member_states.state holds a member's state (migration 012): compressed, in a slot whose size changes rarely.
//
// Every command of a member rewrites its row, and InnoDB's cost of that rewrite is mostly not the bytes of the
// state. A value that changes length cannot be updated in place: the record is deleted and inserted again in its
// page, and when the page has no contiguous room for it the page is reorganized or split, each of which InnoDB
// writes to its redo log as (most of) a page. An earn adds a lot, so the state grew by ~370 bytes on every earn:
// measured on a copy of a benchmark network's member_states (docs/performance-log.md, thirty-eighth session),
// 0.5 page splits and 0.6 reorganizations per update, 6.6–10.3 KB of redo per update of a ~900-byte state, more
// than half of the ~12.8 KB an earn wrote in all. A value rewritten at the same length is updated in place: the
// redo log gets the bytes that differ and the undo log the old value.
//
// So the state's text (state_text, JSON) is stored deflated, in MariaDB's COMPRESS() layout (a zlib stream behind
// its length; libdeflate writes it since the fortieth session, stored_state.cpp), behind one byte
// that no JSON text starts with, and then padded with spaces to a slot: the next write keeps the slot's size
// while the new text still fits it and does not leave most of it empty, and a new slot has room for a few more
// lots. On the same copy that measured 1.9–2.6 KB of redo per update. An operator reads a stored state with
// `SELECT UNCOMPRESS(SUBSTRING(state, 2)) FROM member_states ...` (zlib ignores the padding after the stream).
//
// Rows written before migration 012 (and the benchmark's seeded rows) hold the JSON text itself; they are read as
// they are, and the next write of the member stores them this way.
//
// The stored outcome of an applied command (wallet_commands.response, migration 013) is deflated the same way,
// without a slot (it is written once): ~810 bytes of JSON became ~330, and with the records in commit order
// (the same migration) a record's redo fell from ~2,430 to ~700 bytes (docs/performance-log.md, fortieth session).
// `UNCOMPRESS(SUBSTRING(response, 2))` reads it; records from before the migration hold their JSON text.
#include <cstddef>
#include <string>
#include <string_view>

namespace emtiaz::wallet {

inline constexpr char kDeflated = '\x01';  // first byte of a deflated text; a JSON text starts with '{' (or '[')
inline constexpr char kPadding = ' ';      // the slot's bytes after the deflated stream (never read)

// The size of the slot for a deflated state of `needed` bytes when the row's value was `previous` bytes long
// (0 for a new row): `previous` when the state fits it and would leave at most twice a new slot's room unused,
// else `needed` and room for a few more lots.
std::size_t state_slot_size(std::size_t needed, std::size_t previous);

// The text deflated, behind kDeflated, with no padding: what wallet_commands.response gets.
std::string deflate_text(std::string_view text);
// What member_states.state gets for the state's text, given the length of the value the row held: deflate_text's
// value padded to its slot.
std::string encode_stored_state(std::string_view text, std::size_t previous);

// The text from a stored value: a JSON text as it is, a deflated one inflated (its slot's padding unread). Throws
// std::runtime_error on a value that is neither (a damaged or truncated stream, a length that does not match), as
// reading a text that is not a state does.
std::string decode_stored_text(std::string_view stored);
// Whether the value is stored deflated (and so must be decoded before it is read as JSON).
inline bool is_deflated(std::string_view stored) { return !stored.empty() && stored.front() == kDeflated; }

}  // namespace emtiaz::wallet
