-- Earns and redemptions are found by (tenant_id, id), their primary key (the gateway's owner look-up for a
-- refund, capture or void), and by receipt; nothing asks for an id without its tenant. The unique keys on
-- `id` alone cost every earn and every authorization one more insert at a random place in a B-tree, and a
-- unique check that must read its leaf page (InnoDB cannot buffer it). Ids are 24 random base62 characters
-- (common/ids.hpp), and the primary key keeps them unique within a tenant.
ALTER TABLE earns DROP INDEX earns_id;
ALTER TABLE redemptions DROP INDEX redemptions_id;
