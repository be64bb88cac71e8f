-- The records of applied commands (wallet_commands) in the order they were committed, their outcome deflated
-- (wallet/stored_state.hpp). Keyed by (tenant_id, command_id), a random 64-character id, every insert landed on a
-- random page of the table, and the pages split as they filled; measured on copies of a benchmark network's
-- table (docs/performance-log.md, fortieth session), redo per record: ~2,430 bytes as it was, ~1,430 deflated,
-- ~1,100 in commit order, ~700 both. The id stays unique (a second wallet writing the same command gets a
-- duplicate-key error, as before) in an index of its own. Records from before keep their JSON text, which the
-- wallet still reads; an operator reads a deflated one with UNCOMPRESS(SUBSTRING(response, 2)).
ALTER TABLE wallet_commands
  DROP PRIMARY KEY,
  ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT FIRST,
  ADD PRIMARY KEY (seq),
  ADD UNIQUE KEY wallet_commands_id (tenant_id, command_id),
  MODIFY response MEDIUMBLOB NOT NULL;
