-- Idempotency records of non-moving POSTs without anything readable in them. A record is found by
-- record_id = SHA-256 of (principal scope, Idempotency-Key), so the key itself is not stored; the request's
-- fingerprint is kept as an HMAC under a secret derived from the key, and the stored response (which may
-- carry an operator token or an API key) is sealed with AES-256-GCM under another key derived from it
-- (gateway/idempotency.cpp). Someone who has only the database can neither read a response nor tell which
-- request it answered.
--
-- The plaintext table of 001, idempotency_keys, is left in place for the upgrade: rows it still holds (up to
-- 48 hours of them) are converted into this table and deleted by the gateway before it serves its first
-- idempotent request, and again at each prune (gateway versions that still write it may run alongside
-- during a rolling upgrade). A later migration may drop it once every gateway runs this version.
CREATE TABLE IF NOT EXISTS idempotency_records (
  record_id CHAR(64) NOT NULL PRIMARY KEY,
  fingerprint CHAR(64) NOT NULL,
  state VARCHAR(12) NOT NULL,
  status INT NULL,
  response MEDIUMTEXT NULL,
  reserved_at DATETIME(6) NOT NULL,
  completed_at DATETIME(6) NULL,
  KEY idempotency_records_reserved (reserved_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
