-- A member's cold lots, stored apart from the rest of its state (wallet/cold_lots.hpp): NULL, or a JSON array of
-- the lots no command is changing — available, unexpired, holding points, and not among the earliest-expiring
-- few — by seq. Each command rewrites `state`; this column only when one of its lots changed or enough new ones
-- gathered, so a member who earns often and spends rarely no longer rewrites a year of lots per command. The
-- state a command sees is the two merged (wallet::read_stored_state).
ALTER TABLE member_states ADD COLUMN cold_lots MEDIUMTEXT NULL AFTER state;
