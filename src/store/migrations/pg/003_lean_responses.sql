-- 003_lean_responses.sql — metrics are served by the in-memory analytics
-- index (src/analytics), not by SQL over responses, so the B-tree indexes
-- that served the old SQL metrics only cost every insert (four extra
-- B-tree writes per response on the hot ingest path). The unique indexes
-- (client_key, contact_id) stay: they enforce idempotency.
DROP INDEX IF EXISTS responses_received;
DROP INDEX IF EXISTS responses_team;
DROP INDEX IF EXISTS responses_employee;
DROP INDEX IF EXISTS responses_touchpoint;
