-- The wallet's record: applied commands with their exact responses, each member's points state, the
-- append-only ledger, earns and redemptions for look-up, and the outbox of ledger events per partition.
CREATE TABLE wallet_commands (
  tenant_id VARCHAR(40) NOT NULL,
  command_id CHAR(64) NOT NULL,
  body_hash CHAR(64) NOT NULL,
  status INT NOT NULL,
  response MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, command_id),
  KEY wallet_commands_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE member_states (
  tenant_id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  part INT NOT NULL,
  version BIGINT NOT NULL,
  state MEDIUMTEXT NOT NULL,
  next_due DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, member_id),
  KEY member_states_due (part, next_due)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per movement of points in one lot (what settlement needs: the lot's issuer and prices).
CREATE TABLE ledger_entries (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  txn_id VARCHAR(40) NOT NULL,
  type VARCHAR(24) NOT NULL,
  points BIGINT NOT NULL,
  lot_id VARCHAR(40) NOT NULL,
  issuer VARCHAR(40) NOT NULL,
  issue_price_irr BIGINT NOT NULL,
  fee_bps INT NOT NULL,
  partner_id VARCHAR(40) NOT NULL,
  redemption_id VARCHAR(40) NOT NULL,
  redeem_value_irr BIGINT NOT NULL,
  at DATETIME(6) NOT NULL,
  committed_at DATETIME(6) NOT NULL,
  KEY ledger_entries_member (tenant_id, member_id, id),
  KEY ledger_entries_at (tenant_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per item of a member's history (GET /members/{m}/transactions).
CREATE TABLE ledger_transactions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  txn_id VARCHAR(40) NOT NULL,
  type VARCHAR(24) NOT NULL,
  points BIGINT NOT NULL,
  partner_id VARCHAR(40) NULL,
  receipt_id VARCHAR(255) NULL,
  reason VARCHAR(500) NULL,
  earn_id VARCHAR(40) NULL,
  redemption_id VARCHAR(40) NULL,
  at DATETIME(6) NOT NULL,
  KEY ledger_transactions_member (tenant_id, member_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE earns (
  tenant_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  partner_id VARCHAR(40) NOT NULL,
  receipt_id VARCHAR(255) NOT NULL,
  amount_irr BIGINT NOT NULL,
  points BIGINT NOT NULL,
  command_id CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY earns_id (id),
  UNIQUE KEY earns_receipt (tenant_id, partner_id, receipt_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE redemptions (
  tenant_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,
  member_id VARCHAR(40) NOT NULL,
  partner_id VARCHAR(40) NOT NULL,
  receipt_id VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY redemptions_id (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Ledger events in the order the wallet committed them, per partition, with the wallet's own sequence.
CREATE TABLE outbox (
  part INT NOT NULL,
  seq BIGINT NOT NULL,
  tenant_id VARCHAR(40) NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (part, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wallet_partitions (
  part INT NOT NULL PRIMARY KEY,
  next_seq BIGINT NOT NULL,
  published_seq BIGINT NOT NULL,
  watermark DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
