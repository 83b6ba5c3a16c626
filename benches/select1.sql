-- The smallest round trip: what actgate adds to a statement that costs
-- PostgreSQL almost nothing. Used by benches/pgbench.sh.
SELECT 1;
