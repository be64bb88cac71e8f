-- Control plane: tenants (coalitions), partners, API keys, members, and the idempotency record of
-- non-moving POSTs. Every key leads with tenant_id so tenants can be sharded later.
CREATE TABLE tenants (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  timezone VARCHAR(64) NOT NULL,
  calendar VARCHAR(16) NOT NULL,
  points_ttl VARCHAR(32) NOT NULL,
  pending_period VARCHAR(32) NOT NULL,
  hold_ttl VARCHAR(32) NOT NULL,
  auto_enroll BOOLEAN NOT NULL,
  operator_token_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY tenants_operator_token (operator_token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE partners (
  tenant_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,
  name VARCHAR(200) NOT NULL,
  category VARCHAR(100) NOT NULL,
  status VARCHAR(16) NOT NULL,
  issue_price_irr BIGINT NOT NULL,
  redeem_value_irr BIGINT NOT NULL,
  fee_bps INT NOT NULL,
  points_per_10k_irr BIGINT NOT NULL,
  rate_limit_per_s INT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  seq BIGINT NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY partners_id (id),
  UNIQUE KEY partners_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE api_keys (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  tenant_id VARCHAR(40) NOT NULL,
  partner_id VARCHAR(40) NOT NULL,
  key_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  UNIQUE KEY api_keys_hash (key_hash),
  KEY api_keys_partner (tenant_id, partner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE members (
  tenant_id VARCHAR(40) NOT NULL,
  id VARCHAR(40) NOT NULL,
  phone VARCHAR(20) NOT NULL,
  card CHAR(16) NOT NULL,
  name VARCHAR(200) NULL,
  birth_date DATE NULL,
  gender VARCHAR(16) NULL,
  city VARCHAR(100) NULL,
  email VARCHAR(254) NULL,
  referred_by VARCHAR(40) NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY members_id (id),
  UNIQUE KEY members_phone (tenant_id, phone),
  UNIQUE KEY members_card (card)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Reservations and stored responses of non-moving POSTs (points-moving ones are recorded by the wallet).
CREATE TABLE idempotency_keys (
  principal VARCHAR(80) NOT NULL,
  idem_key VARCHAR(255) NOT NULL,
  fingerprint CHAR(64) NOT NULL,
  state VARCHAR(12) NOT NULL,
  status INT NULL,
  response MEDIUMTEXT NULL,
  reserved_at DATETIME(6) NOT NULL,
  completed_at DATETIME(6) NULL,
  PRIMARY KEY (principal, idem_key),
  KEY idempotency_keys_reserved (reserved_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
