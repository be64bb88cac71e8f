-- Partner lists are read newest first within a tenant: GET /v1/partners walks (tenant_id, seq) backwards.
CREATE INDEX partners_tenant_seq ON partners (tenant_id, seq);
