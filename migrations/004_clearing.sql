-- Clearing: the ledger events as clearing applied them (exactly once, by the wallet's per-partition
-- sequence), clearing's position and watermark per partition, and the closed (immutable) settlements.
CREATE TABLE clearing_events (
  part INT NOT NULL,
  seq BIGINT NOT NULL,
  idx INT NOT NULL,
  tenant_id VARCHAR(40) NOT NULL,
  type VARCHAR(24) NOT NULL,
  points BIGINT NOT NULL,
  issuer VARCHAR(40) NOT NULL,
  issue_price_irr BIGINT NOT NULL,
  fee_bps INT NOT NULL,
  partner_id VARCHAR(40) NOT NULL,
  redeem_value_irr BIGINT NOT NULL,
  earn_id VARCHAR(40) NOT NULL,
  at_us BIGINT NOT NULL,
  PRIMARY KEY (part, seq, idx),
  KEY clearing_events_tenant_at (tenant_id, at_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- applied_seq: the last wallet sequence of the partition applied above (in the same transaction);
-- watermark_us: every event of the partition with at < watermark_us has been applied.
CREATE TABLE clearing_positions (
  part INT NOT NULL PRIMARY KEY,
  applied_seq BIGINT NOT NULL,
  watermark_us BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE settlements (
  seq BIGINT NOT NULL AUTO_INCREMENT,
  tenant_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,
  from_us BIGINT NOT NULL,
  to_us BIGINT NOT NULL,
  closed_at DATETIME(6) NOT NULL,
  checksum CHAR(64) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  csv MEDIUMBLOB NOT NULL,
  PRIMARY KEY (seq),
  UNIQUE KEY settlements_id (id),
  KEY settlements_tenant_seq (tenant_id, seq),
  KEY settlements_tenant_to (tenant_id, to_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
