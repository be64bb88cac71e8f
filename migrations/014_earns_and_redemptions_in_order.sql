-- Earns and redemptions in the order they were committed, as the command records are since migration 013. Keyed
-- by (tenant_id, id), an id with a random part, every insert landed on a random page of a table that only grows,
-- and the pages split as they filled. Measured on copies of a benchmark network's earns (docs/performance-log.md,
-- fortieth session; copies filled in random order, as the wallet fills them), redo per row: ~930-1,030 bytes as it
-- was, ~580-610 in commit order. The id stays unique per tenant in an index of its own, which the gateway's look-up
-- by id uses.
ALTER TABLE earns
  DROP PRIMARY KEY,
  ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT FIRST,
  ADD PRIMARY KEY (seq),
  ADD UNIQUE KEY earns_tenant_id (tenant_id, id);
ALTER TABLE redemptions
  DROP PRIMARY KEY,
  ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT FIRST,
  ADD PRIMARY KEY (seq),
  ADD UNIQUE KEY redemptions_tenant_id (tenant_id, id);
