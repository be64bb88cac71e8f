-- member_states.state holds a member's state deflated and padded to a slot (wallet/stored_state.hpp), so that
-- most commands rewrite it in place instead of growing it: bytes, not text. Rows written before keep their JSON
-- text, which the wallet still reads, until their member's next write. An operator reads a state with
-- SELECT UNCOMPRESS(SUBSTRING(state, 2)) (a JSON text as it is when its first byte is '{').
ALTER TABLE member_states MODIFY state MEDIUMBLOB NOT NULL;
