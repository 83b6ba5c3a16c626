-- deploy/initdb/20-grants.sql: the grants the shipped rules (rules/*.toml)
-- need, and nothing more: the tables and columns the agents may read and
-- write. payment_methods and staff_users, which every rules file denies,
-- get no grant at all. Runs after 00-role.sql and demo/shop.sql (see
-- 00-role.sql).

\set ON_ERROR_STOP on

GRANT USAGE ON SCHEMA public TO actgate_gateway;

-- analytics, support-bot, order-assistant: read.
GRANT SELECT ON orders, order_items, products, customers, refunds TO actgate_gateway;

-- support-bot and order-assistant: UPDATE orders (write_columns).
GRANT UPDATE (status, notes, updated_at) ON orders TO actgate_gateway;

-- support-bot: INSERT INTO refunds (write_columns).
GRANT INSERT (order_id, amount_cents, reason, created_by) ON refunds TO actgate_gateway;
