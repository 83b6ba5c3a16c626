-- deploy/initdb/00-role.sql: the first of the three scripts that build the
-- sample shop database for docker-compose.yml, run once, in name order, by
-- the postgres image's entrypoint (/docker-entrypoint-initdb.d) in the
-- database POSTGRES_DB (shop), as the superuser, with psql:
--
-- 00-role.sql    the role actgate logs in as upstream, actgate_gateway, with
--                the password in the environment variable
--                ACTGATE_UPSTREAM_PASSWORD;
-- 10-shop.sql    demo/shop.sql, mounted as it is: the demo schema and data;
-- 20-grants.sql  the grants the shipped rules (rules/*.toml) need.
--
-- tests/deploy.rs applies them in this order to a throwaway PostgreSQL and
-- checks the shipped rules against the result, as `actgate serve` does at
-- startup.

\set ON_ERROR_STOP on
\getenv upstream_password ACTGATE_UPSTREAM_PASSWORD
\if :{?upstream_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'deploy/initdb/00-role.sql: set ACTGATE_UPSTREAM_PASSWORD (the password of actgate_gateway)'; END $$;
\endif

SET password_encryption = 'scram-sha-256';
CREATE ROLE actgate_gateway LOGIN PASSWORD :'upstream_password';
