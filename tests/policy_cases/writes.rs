//! Writes: writable CTEs and the support agent's tables, operations and
//! write columns.

use super::*;

/// `WITH d AS (DELETE …) SELECT …` writes (SECURITY: "Read-only" that writes).
#[test]
fn writable_ctes() {
    check(&[
        (
            A,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "statement_class_denied",
        ),
        (
            A,
            "WITH u AS (UPDATE orders SET status = 'x' WHERE id = 1 RETURNING id) SELECT * FROM u",
            "statement_class_denied",
        ),
        (
            A,
            "WITH i AS (INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 1, 'x', 'kpatel') RETURNING id) SELECT * FROM i",
            "statement_class_denied",
        ),
        (
            A,
            "WITH d AS (DELETE FROM orders WHERE id = 1) SELECT 1",
            "statement_class_denied",
        ),
        (
            S,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "statement_class_denied",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET status = 'x' WHERE id = 1 RETURNING id) SELECT * FROM u",
            "allow",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET status = 'x' RETURNING id) SELECT * FROM u",
            "missing_where",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET customer_id = 2 WHERE id = 1 RETURNING id) SELECT * FROM u",
            "column_denied",
        ),
        (
            S,
            "WITH i AS (INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel') RETURNING id) SELECT * FROM i",
            "allow",
        ),
        (
            S,
            "WITH d AS (DELETE FROM staff_users WHERE id = 1 RETURNING *) SELECT 1",
            "table_denied",
        ),
        (
            T,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "allow",
        ),
    ]);
}

/// The support agent's writes: tables, operations and write columns.
#[test]
fn support_bot_writes() {
    check(&[
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'a', 'kpatel'), (2, 200, 'b', 'lwong')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, $4)",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO public.refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (id, order_id, amount_cents, reason, created_by) VALUES (99, 1, 100, 'late', 'kpatel')",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by, created_at) VALUES (1, 100, 'x', 'kpatel', now())",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds VALUES (99, 1, 100, 'late', now(), 'kpatel')",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds SELECT * FROM refunds",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT id, total_cents, 'goodwill', 'kpatel' FROM orders WHERE id = 1",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, 'x', username FROM staff_users",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, password_hash, 'kpatel' FROM staff_users LIMIT 1",
            "table_denied",
        ),
        (
            S,
            "WITH s AS (SELECT username FROM staff_users LIMIT 1) INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, 'x', username FROM s",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, marketing_opt_in::text, 'kpatel' FROM customers WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ((SELECT id FROM orders WHERE id = 1), 100, 'x', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, (SELECT password_hash FROM staff_users LIMIT 1), 'kpatel')",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, DEFAULT, 'x', 'kpatel')",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING *",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING id, created_at",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING (SELECT marketing_opt_in FROM customers WHERE id = 1)",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') ON CONFLICT DO NOTHING",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') ON CONFLICT (id) DO UPDATE SET reason = excluded.reason",
            "operation_not_allowed",
        ),
        (
            S,
            "INSERT INTO orders (customer_id, shipping_country) VALUES (1, 'US')",
            "operation_not_allowed",
        ),
        (
            S,
            "INSERT INTO staff_users (username) VALUES ('evil')",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO products (sku) VALUES ('x')",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE orders SET status = 'shipped', updated_at = now() WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET notes = 'called customer' WHERE id = $1",
            "allow",
        ),
        (
            S,
            "UPDATE orders o SET status = 'x' WHERE o.id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET (status, notes) = ('x', 'y') WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET (status, total_cents) = ('x', 0) WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET customer_id = 2 WHERE id = 1",
            "column_denied",
        ),
        (S, "UPDATE orders SET id = 2 WHERE id = 1", "column_denied"),
        // `SET col.field = …` assigns a field of column `col` (PG rejects it
        // here only because total_cents is not composite).
        (
            S,
            "UPDATE orders SET total_cents.status = 'x' WHERE id = 1",
            "column_denied",
        ),
        (S, "UPDATE orders SET status = 'x' WHERE true", "allow"),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE id = 1 RETURNING *",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE id = 1 RETURNING (SELECT password_hash FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = (SELECT marketing_opt_in::text FROM customers WHERE id = 1) WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = (SELECT email FROM customers WHERE id = 1) WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' FROM order_items WHERE order_items.order_id = orders.id AND order_items.product_id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET notes = s.password_hash FROM staff_users s WHERE s.id = 1 AND orders.id = 1",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = c.marketing_opt_in::text FROM customers c WHERE c.id = orders.customer_id AND orders.id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' FROM customers c WHERE c.id = orders.customer_id AND c.marketing_opt_in",
            "column_denied",
        ),
        (
            S,
            "UPDATE products SET stock_qty = 0 WHERE id = 1",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE refunds SET amount_cents = 1 WHERE id = 1",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE staff_users SET role = 'admin' WHERE id = 2",
            "table_denied",
        ),
        (
            S,
            "DELETE FROM refunds USING orders WHERE refunds.order_id = orders.id AND orders.id = 1",
            "statement_class_denied",
        ),
        (
            S,
            "DELETE FROM orders WHERE id = 1 RETURNING *",
            "statement_class_denied",
        ),
        (
            T,
            "DELETE FROM orders USING order_items i WHERE i.order_id = orders.id AND i.quantity > 2",
            "allow",
        ),
        (T, "DELETE FROM orders", "allow"),
        (T, "UPDATE orders SET total_cents = 0", "allow"),
        (
            T,
            "INSERT INTO orders (customer_id, shipping_country) VALUES (1, 'US') ON CONFLICT (id) DO UPDATE SET status = excluded.status",
            "allow",
        ),
        (
            A,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel')",
            "statement_class_denied",
        ),
        (
            A,
            "UPDATE orders SET status = 'x' WHERE id = 1",
            "statement_class_denied",
        ),
    ]);
}
