-- One counter of the changes to what a gateway caches about the control plane (common/control_plane_version.hpp):
-- a key revoked, a partner or a tenant changed. It is raised in the transaction that makes the change, and
-- every gateway reads it every 200 ms and empties its caches when it has moved, so that it keeps a key's,
-- a tenant's or a partner's answer for as long as nothing changed instead of reloading each one in use
-- twice a second (docs/performance-log.md, twenty-eighth session).
CREATE TABLE control_plane_version (
  id TINYINT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT INTO control_plane_version (id, version) VALUES (1, 0);
