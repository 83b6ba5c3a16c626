-- The database actgate's replicas share their runtime state in ([state] in
-- deploy/actgate-replica.toml; docker compose --profile replicas). actgate
-- creates and migrates its schema there itself. No agent's rules may name
-- it. On a data volume made before this script existed, run once:
--   docker compose exec postgres createdb -U postgres -O actgate_gateway actgate_state
CREATE DATABASE actgate_state OWNER actgate_gateway;
