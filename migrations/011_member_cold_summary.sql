-- What a member's cold lots (migration 010) hold, written with them: the sum of their points, and the first of them
-- in "earliest expiry first" order, by its expiry (microseconds since the epoch) and its seq. An earn needs no more
-- than that of them: the wallet then leaves the cold_lots column unread (wallet/cold_lots.hpp,
-- cold_lots_may_stay_unread). NULL with a NULL cold_lots, and for a row whose cold lots were written before this
-- migration: the wallet then reads them, as before, until its next split writes all four.
ALTER TABLE member_states
  ADD COLUMN cold_points BIGINT NULL AFTER cold_lots,
  ADD COLUMN cold_first_expiry BIGINT NULL AFTER cold_points,
  ADD COLUMN cold_first_seq BIGINT NULL AFTER cold_first_expiry;
