-- Finished records moved out of member_states (points::archive_finished): lots with no points left and
-- redemptions no longer authorized. A member's state is parsed and rewritten by every command, so it keeps
-- only what holds points; a member with a year of daily redemptions carried ~120 KB in it before. A record
-- comes back into the wallet's batch when a command names it (a redemption refund, a capture or void of a
-- finished redemption, a purchase refund of an emptied earn), and GET /v1/redemptions/{id} shows a finished
-- redemption from here. Rows are rewritten when a restored record leaves again changed; a record back in
-- the state wins over its row.
CREATE TABLE member_archive (
  tenant_id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,         -- the lot's or the redemption's id
  kind VARCHAR(12) NOT NULL,       -- lot | redemption
  earn_id VARCHAR(40) NULL,        -- an earn lot's earn: a purchase refund names the earn, not the lot
  receipt_id VARCHAR(255) NULL,    -- a redemption's receipt, as the partner sent it
  record MEDIUMTEXT NOT NULL,      -- the lot or the redemption as JSON (points/points_json.hpp)
  archived_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, member_id, id),
  KEY member_archive_earn (tenant_id, member_id, earn_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
