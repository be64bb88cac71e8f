-- Closing a settlement reads one tenant's clearing_events with at_us in [from, to). Clustered by (part, seq,
-- idx), those rows lie scattered over the table, and the secondary index (tenant_id, at_us) costs one
-- primary-key look-up per row: over a million rows that do not fit the buffer pool, that was ~30 s of random
-- reads (bench/settlement_scale.sh). Clustered by (tenant_id, at_us, ...), the close is one range scan over
-- contiguous pages. (part, seq, idx) — the wallet's position of each entry — stays unique.
ALTER TABLE clearing_events
  DROP PRIMARY KEY,
  DROP KEY clearing_events_tenant_at,
  ADD PRIMARY KEY (tenant_id, at_us, part, seq, idx),
  ADD UNIQUE KEY clearing_events_position (part, seq, idx);
