//! Query shapes: table functions and LATERAL, joins and subqueries, and
//! the ordinary reporting SQL that must pass.

use super::*;

/// Functions in FROM are functions, not relations; LATERAL sees the left side.
#[test]
fn table_functions_and_lateral() {
    check(&[
        (
            A,
            "SELECT * FROM pg_read_file('/etc/passwd')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM pg_catalog.pg_read_file('/etc/passwd') AS f(x)",
            "function_not_allowed",
        ),
        (A, "SELECT * FROM PG_LS_DIR('.')", "function_not_allowed"),
        (
            A,
            "SELECT * FROM dblink('dbname=shop', 'SELECT password_hash FROM staff_users') AS t(h text)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM public.dblink('dbname=shop', 'SELECT 1') AS t(x int)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM query_to_xml('SELECT * FROM staff_users', true, false, '') AS x",
            "function_not_allowed",
        ),
        (A, "SELECT * FROM staff_users()", "function_not_allowed"),
        (A, "SELECT * FROM generate_series(1, 10)", "allow"),
        (A, "SELECT g FROM generate_series(1, 10) AS g", "allow"),
        (A, "SELECT * FROM unnest(ARRAY[1, 2, 3]) AS u(x)", "allow"),
        (A, "SELECT x FROM unnest(ARRAY['a', 'b']) x", "allow"),
        (
            A,
            "SELECT * FROM unnest(ARRAY['a', 'b']) WITH ORDINALITY AS t(v, n)",
            "allow",
        ),
        (A, "SELECT * FROM json_each('{\"a\": 1}'::json)", "allow"),
        (
            A,
            "SELECT * FROM jsonb_array_elements('[1, 2]'::jsonb) AS e",
            "allow",
        ),
        (
            A,
            "SELECT * FROM regexp_split_to_table('a,b', ',') AS t",
            "allow",
        ),
        (
            A,
            "SELECT o.id, g FROM orders o, LATERAL generate_series(1, o.id::int) AS g",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.n FROM orders o CROSS JOIN LATERAL (SELECT count(*) AS n FROM order_items i WHERE i.order_id = o.id) x",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.country FROM orders o LEFT JOIN LATERAL (SELECT country FROM customers c WHERE c.id = o.customer_id) x ON true",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.email FROM orders o LEFT JOIN LATERAL (SELECT email FROM customers c WHERE c.id = o.customer_id) x ON true",
            "column_denied",
        ),
        (
            A,
            "SELECT o.id, s.username FROM orders o CROSS JOIN LATERAL (SELECT username FROM staff_users) s",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o, LATERAL (SELECT pg_sleep(1)) s",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM orders o, LATERAL pg_ls_dir(o.notes) AS f",
            "function_not_allowed",
        ),
        // Each function of ROWS FROM is judged (more in grammar_queries.rs).
        (
            A,
            "SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) AS t(a, b)",
            "function_not_allowed",
        ),
    ]);
}

/// Allowed and denied tables together, and subqueries in every position.
#[test]
fn joins_and_subqueries() {
    check(&[
        (
            A,
            "SELECT o.id FROM orders o JOIN staff_users s ON s.id = o.id",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o LEFT JOIN payment_methods p ON p.customer_id = o.customer_id",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FROM orders, staff_users",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FROM orders CROSS JOIN staff_users",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM (orders o JOIN staff_users s ON true)",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o FULL JOIN (SELECT id FROM staff_users) s ON s.id = o.id",
            "table_denied",
        ),
        (
            A,
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id",
            "column_denied",
        ),
        (
            A,
            "SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id",
            "allow",
        ),
        (
            A,
            "SELECT o.*, c.country FROM orders o JOIN customers c ON c.id = o.customer_id",
            "allow",
        ),
        (
            A,
            "SELECT email FROM orders JOIN customers ON customers.id = orders.customer_id",
            "column_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o JOIN customers c ON c.email = o.notes",
            "column_denied",
        ),
        (
            A,
            "SELECT email FROM (customers JOIN orders ON orders.customer_id = customers.id)",
            "column_denied",
        ),
        (
            A,
            "SELECT j.email FROM (customers JOIN orders ON orders.customer_id = customers.id) AS j",
            "column_denied",
        ),
        (
            A,
            "SELECT j.* FROM (orders JOIN customers ON customers.id = orders.customer_id) AS j",
            "column_denied",
        ),
        (
            A,
            "SELECT s.e FROM (SELECT email AS e FROM customers) s",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM (SELECT * FROM customers) s",
            "column_denied",
        ),
        // Select list, WHERE, HAVING, ORDER BY, LIMIT, OFFSET, VALUES, FILTER, …
        (
            A,
            "SELECT (SELECT max(password_hash) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE customer_id IN (SELECT customer_id FROM payment_methods)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE 'admin' = ANY (SELECT role FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT status FROM orders GROUP BY status HAVING count(*) > (SELECT count(*) FROM payment_methods)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders ORDER BY (SELECT max(password_hash) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders LIMIT (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders OFFSET (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        // PG accepts a subquery here; sqlparser does not (fails closed).
        (
            A,
            "SELECT id FROM orders FETCH FIRST (SELECT count(*) FROM staff_users) ROWS ONLY",
            "table_denied|parse_error",
        ),
        (
            A,
            "VALUES ((SELECT password_hash FROM staff_users LIMIT 1))",
            "table_denied",
        ),
        (
            A,
            "SELECT * FROM (VALUES ((SELECT username FROM staff_users LIMIT 1))) v(x)",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FILTER (WHERE id IN (SELECT id FROM staff_users)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT status FROM orders GROUP BY status, (SELECT 1 FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT row_number() OVER (ORDER BY (SELECT 1 FROM staff_users LIMIT 1)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id AND EXISTS (SELECT 1 FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM staff_users WHERE role = 'admin') THEN 1 END",
            "table_denied",
        ),
        (
            A,
            "SELECT coalesce((SELECT email FROM customers LIMIT 1), 'x')",
            "column_denied",
        ),
        (
            A,
            "SELECT ARRAY(SELECT username FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT DISTINCT ON ((SELECT 1 FROM staff_users LIMIT 1)) id FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT string_agg(status, ',' ORDER BY (SELECT 1 FROM staff_users LIMIT 1)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (SELECT count(*) FROM staff_users)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT CAST((SELECT password_hash FROM staff_users LIMIT 1) AS text)",
            "table_denied",
        ),
        (
            A,
            "SELECT (SELECT to_jsonb(s) FROM staff_users s LIMIT 1) ->> 'password_hash'",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE notes LIKE (SELECT username FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT extract(year FROM (SELECT max(last_login_at) FROM staff_users))",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders UNION SELECT id FROM orders ORDER BY (SELECT 1 FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE (id, status) IN (SELECT id, role FROM staff_users)",
            "table_denied",
        ),
        // Correlated subqueries see the outer columns.
        (
            A,
            "SELECT (SELECT count(*) FROM orders o WHERE o.notes = c.email) FROM customers c",
            "column_denied",
        ),
        (
            A,
            "SELECT (SELECT count(*) FROM orders WHERE notes = email) FROM customers",
            "column_denied",
        ),
        (A, "SELECT (SELECT email) FROM customers", "column_denied"),
        (
            A,
            "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id AND c.email LIKE 'a%')",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers WHERE email LIKE '%@example.com'",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers ORDER BY full_name",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers GROUP BY country HAVING max(phone) IS NOT NULL",
            "column_denied",
        ),
        // TABLESAMPLE arguments are expressions too (PG 15 runs this subquery).
        (
            A,
            "SELECT count(*) FROM orders TABLESAMPLE BERNOULLI ((SELECT count(*) FROM staff_users))",
            "table_denied",
        ),
        // … and the cross-check must not take an unrelated CTE of the same
        // name for the real table there (PG 15: 200 rows if there is an
        // admin, 0 if not).
        (
            A,
            "SELECT count(*) FROM orders TABLESAMPLE BERNOULLI (least(100, 100 * (SELECT count(*) FROM staff_users WHERE role = 'admin'))), (WITH staff_users AS (SELECT 1 AS x) SELECT x FROM staff_users) z",
            "table_denied",
        ),
        // … nor let columns read there escape the column rules (PG 15: 50
        // rows if some e-mail starts with "ava", 0 if not).
        (
            A,
            "SELECT count(*) FROM customers TABLESAMPLE BERNOULLI (least(100, 100 * (SELECT count(*) FROM customers WHERE email LIKE 'ava%')))",
            "column_denied",
        ),
    ]);
}

/// Ordinary reporting SQL must pass untouched: false rejections push users
/// to switch protection off (SECURITY: "Operational").
#[test]
fn analytics_ordinary_queries() {
    let queries: &[&str] = &[
        "SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*) DESC",
        "SELECT date_trunc('month', created_at) AS month, sum(total_cents) / 100.0 AS revenue FROM orders WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1",
        "SELECT p.category, sum(oi.quantity * oi.unit_price_cents) AS revenue FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.category ORDER BY revenue DESC",
        "SELECT o.id, o.total_cents, coalesce(sum(r.amount_cents), 0) AS refunded FROM orders o LEFT JOIN refunds r ON r.order_id = o.id GROUP BY o.id, o.total_cents",
        "SELECT c.country, count(DISTINCT o.customer_id) AS buyers FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.country",
        "SELECT loyalty_tier, count(*) FROM customers GROUP BY loyalty_tier",
        "SELECT country, count(*) FILTER (WHERE marketing_opt_in) AS opted_in, count(*) AS total FROM customers GROUP BY country HAVING count(*) > 2",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total_cents) AS median_order FROM orders",
        "SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY total_cents) FROM orders",
        "SELECT id, total_cents, rank() OVER (PARTITION BY shipping_country ORDER BY total_cents DESC) AS r FROM orders",
        "SELECT id, created_at, sum(total_cents) OVER (ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM orders",
        "SELECT DISTINCT ON (customer_id) customer_id, id, created_at FROM orders ORDER BY customer_id, created_at DESC",
        "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, sum(total_cents) AS rev FROM orders GROUP BY 1) SELECT m, rev, lag(rev) OVER (ORDER BY m) AS prev FROM monthly",
        "SELECT extract(year FROM created_at) AS y, extract(month FROM created_at) AS mo, count(*) FROM orders GROUP BY 1, 2",
        "SELECT EXTRACT(DOW FROM created_at) AS dow, count(*) FROM orders GROUP BY 1 ORDER BY 1",
        "SELECT to_char(created_at, 'YYYY-MM') AS ym, count(*) FROM orders GROUP BY ym ORDER BY ym",
        "SELECT CASE WHEN total_cents >= 10000 THEN 'large' WHEN total_cents >= 5000 THEN 'medium' ELSE 'small' END AS bucket, count(*) FROM orders GROUP BY 1",
        "SELECT d::date AS day, count(o.id) FROM generate_series(date '2025-01-01', date '2025-01-31', interval '1 day') AS d LEFT JOIN orders o ON o.created_at::date = d::date GROUP BY 1 ORDER BY 1",
        "SELECT m::date, coalesce(sum(o.total_cents), 0) FROM generate_series(date_trunc('month', now()) - interval '11 months', date_trunc('month', now()), interval '1 month') AS m LEFT JOIN orders o ON date_trunc('month', o.created_at) = m GROUP BY m ORDER BY m",
        "SELECT json_build_object('status', status, 'n', count(*)) FROM orders GROUP BY status",
        "SELECT json_agg(json_build_object('id', id, 'total', total_cents)) FROM orders WHERE status = 'paid'",
        "SELECT jsonb_build_object('country', country, 'tier', loyalty_tier) FROM customers",
        "SELECT order_id, string_agg(p.name, ', ' ORDER BY p.name) FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY order_id",
        "SELECT name, price_cents FROM products WHERE active ORDER BY price_cents DESC LIMIT 5",
        "SELECT * FROM orders ORDER BY created_at DESC LIMIT 20 OFFSET 40",
        "SELECT id FROM orders WHERE status = 'delivered' UNION SELECT order_id FROM refunds",
        "SELECT id FROM orders EXCEPT SELECT order_id FROM refunds",
        "SELECT id FROM orders INTERSECT SELECT order_id FROM order_items",
        "SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE country = 'DE')",
        "SELECT o.* FROM orders o WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id)",
        "SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
        "SELECT o.id, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) AS items FROM orders o",
        "SELECT reason, count(*), sum(amount_cents) FROM refunds GROUP BY reason ORDER BY 2 DESC",
        "SELECT p.sku, p.stock_qty FROM products p WHERE p.stock_qty < 50 AND p.active",
        "SELECT category, avg(price_cents)::numeric(10, 2) FROM products GROUP BY category",
        "SELECT round(avg(total_cents) / 100.0, 2) AS aov FROM orders WHERE created_at >= now() - interval '90 days'",
        "SELECT count(*) FROM orders WHERE created_at BETWEEN '2025-01-01' AND '2025-03-31'",
        "SELECT shipping_country, count(*) AS n, sum(total_cents) AS rev FROM orders GROUP BY ROLLUP (shipping_country)",
        "SELECT status, shipping_country, count(*) FROM orders GROUP BY GROUPING SETS ((status), (shipping_country), ())",
        "SELECT country, loyalty_tier, count(*) FROM customers GROUP BY CUBE (country, loyalty_tier)",
        "SELECT ntile(4) OVER (ORDER BY total_cents) AS quartile, id FROM orders",
        "SELECT id, total_cents - lag(total_cents) OVER w AS delta FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY created_at)",
        "SELECT customer_id, count(*) AS orders, min(created_at) AS first_order, max(created_at) AS last_order FROM orders GROUP BY customer_id HAVING count(*) >= 3",
        "SELECT c.loyalty_tier, avg(o.total_cents) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.loyalty_tier",
        "SELECT date_part('dow', created_at) AS dow, count(*) FROM orders GROUP BY 1 ORDER BY 1",
        "SELECT age(max(created_at), min(created_at)) FROM orders",
        "SELECT id FROM orders WHERE notes ILIKE '%gift%'",
        "SELECT id FROM orders WHERE notes IS NOT NULL AND status IN ('paid', 'shipped')",
        "SELECT coalesce(notes, '(none)') FROM orders LIMIT 10",
        "SELECT nullif(sum(amount_cents), 0) FROM refunds",
        "SELECT greatest(max(total_cents), 0), least(min(total_cents), 0) FROM orders",
        "SELECT sum(total_cents) FILTER (WHERE status = 'refunded')::float / nullif(sum(total_cents), 0) AS refund_rate FROM orders",
        "SELECT array_agg(DISTINCT shipping_country ORDER BY shipping_country) FROM orders",
        "SELECT order_id, sum(quantity) FROM order_items GROUP BY order_id ORDER BY 2 DESC FETCH FIRST 10 ROWS ONLY",
        "SELECT p.name, sum(i.quantity) AS units FROM products p LEFT JOIN order_items i ON i.product_id = p.id GROUP BY p.name ORDER BY units DESC NULLS LAST",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12) SELECT i FROM n",
        "SELECT status FROM orders WHERE status = ANY (ARRAY['paid', 'shipped'])",
        "SELECT cume_dist() OVER (ORDER BY total_cents), percent_rank() OVER (ORDER BY total_cents) FROM orders",
        "SELECT first_value(id) OVER (PARTITION BY customer_id ORDER BY created_at) FROM orders",
        "SELECT count(*) FROM orders o JOIN refunds r ON r.order_id = o.id WHERE r.created_at > o.created_at + interval '5 days'",
        "SELECT mode() WITHIN GROUP (ORDER BY shipping_country) FROM orders",
        "SELECT stddev(total_cents), variance(total_cents) FROM orders",
        "SELECT corr(quantity, unit_price_cents) FROM order_items",
        "SELECT width_bucket(total_cents, 0, 20000, 10) AS bucket, count(*) FROM orders GROUP BY 1",
        "SELECT upper(left(sku, 3)), count(*) FROM products GROUP BY 1",
        "SELECT split_part(sku, '-', 1) AS family FROM products",
        "SELECT concat_ws(' / ', category, name) FROM products",
        "SELECT id, created_at AT TIME ZONE 'UTC' FROM orders",
        "SELECT date_bin('15 minutes', created_at, timestamp '2025-01-01') AS slot, count(*) FROM orders GROUP BY 1",
        "SELECT customer_id, sum(total_cents) AS ltv, dense_rank() OVER (ORDER BY sum(total_cents) DESC) AS rnk FROM orders GROUP BY customer_id",
        "SELECT o.id, o.created_at::date AS d FROM orders o WHERE o.created_at >= current_date - 30",
        "SELECT count(*) FROM orders WHERE extract(epoch FROM updated_at - created_at) > 86400",
        "SELECT CAST(total_cents AS numeric) / 100 FROM orders",
        "SELECT status, count(*) * 100.0 / sum(count(*)) OVER () AS pct FROM orders GROUP BY status",
        "SELECT * FROM (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id) t WHERE n > 5",
        "SELECT c.country, p.category, sum(i.quantity) FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id GROUP BY c.country, p.category",
        "SELECT id, total_cents FROM orders WHERE id = $1",
        "SELECT count(*) FROM customers WHERE created_at >= '2024-06-01' AND loyalty_tier <> 'standard'",
        "SELECT r.reason, o.status FROM refunds r JOIN orders o ON o.id = r.order_id",
        "select count(*) as \"Total Orders\" from orders",
        "SELECT substring(sku FROM 1 FOR 3), trim(name), position('-' IN sku) FROM products",
        "SELECT bool_or(active), bool_and(active) FROM products",
        "SELECT regexp_replace(name, '\\s+', ' ', 'g') FROM products",
        "SELECT make_date(2025, m, 1) FROM generate_series(1, 12) AS m",
        "SELECT sum(total_cents) OVER (PARTITION BY date_trunc('week', created_at)) FROM orders",
        "SELECT EXISTS (SELECT 1 FROM orders WHERE status = 'pending')",
        "SELECT o.id, o.total_cents - coalesce(r.refunded, 0) AS net FROM orders o LEFT JOIN (SELECT order_id, sum(amount_cents) AS refunded FROM refunds GROUP BY order_id) r ON r.order_id = o.id",
        "SELECT count(*) FROM orders WHERE created_at > now() - '7 days'::interval",
        "SELECT id::text || '-' || status FROM orders",
        "SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'cancelled') / COUNT(*), 1) FROM orders",
        "SELECT to_char(date_trunc('week', created_at), 'IYYY-IW') FROM orders",
        "SELECT * FROM products ORDER BY random() LIMIT 3",
        "SELECT array_length(array_agg(id), 1) FROM orders",
        "SELECT jsonb_agg(p ORDER BY p.id) FROM products p",
        "SELECT row_to_json(o) FROM orders o LIMIT 1",
        "SELECT count(*) FILTER (WHERE c.marketing_opt_in) FROM customers c",
        "SELECT o.id FROM orders o ORDER BY o.created_at DESC NULLS LAST LIMIT ALL",
        "SELECT current_date, now(), CURRENT_TIMESTAMP, localtimestamp",
        "SELECT interval '1 day' * 3, now()::date - 7",
        "SELECT count(*) FROM orders WHERE created_at::date = CURRENT_DATE - 1",
        "SELECT o.shipping_country, c.country FROM orders o JOIN customers c USING (id) LIMIT 5",
        "SELECT p.category, count(*) FROM products p WHERE p.category IN (SELECT DISTINCT category FROM products WHERE price_cents > 5000) GROUP BY 1",
        "SELECT id FROM orders WHERE status IS DISTINCT FROM 'cancelled'",
        "SELECT sum(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS delivered FROM orders",
        "SELECT count(*) FROM orders TABLESAMPLE SYSTEM (10)",
        "SELECT customer_id, array_agg(id ORDER BY created_at) FROM orders GROUP BY customer_id",
        "SELECT o.id, x.n FROM orders o JOIN LATERAL (SELECT count(*) AS n FROM order_items i WHERE i.order_id = o.id) x ON true",
        "SELECT generate_series(1, 3) AS n",
        "SELECT unnest(ARRAY['a', 'b']) AS tag",
        "SELECT format('%s orders', count(*)) FROM orders",
        "SELECT lpad(id::text, 6, '0') FROM orders",
        "SELECT now() - max(created_at) AS since_last FROM orders",
        "SELECT count(*) AS n, shipping_country AS c FROM orders GROUP BY c ORDER BY n DESC",
        "SELECT avg(total_cents) FROM orders WHERE created_at >= date_trunc('year', now())",
        "SELECT o.id FROM orders o WHERE o.total_cents > (SELECT avg(total_cents) FROM orders)",
        "SELECT product_id, sum(quantity) OVER (PARTITION BY product_id) FROM order_items",
        "SELECT category, jsonb_object_agg(sku, price_cents) FROM products GROUP BY category",
        "SELECT string_agg(DISTINCT category, ',') FROM products",
        "SELECT count(*) FROM orders WHERE (status, shipping_country) = ('paid', 'US')",
        "SELECT date_trunc('day', created_at)::date, count(*) FROM orders GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 DESC",
        // The SQL function-call cast `date(x)` is ordinary reporting SQL.
        "SELECT date(created_at), count(*) FROM orders GROUP BY 1",
    ];
    assert!(queries.len() >= 60);
    let cases: Vec<(&str, &str, &str)> = queries.iter().map(|q| (A, *q, "allow")).collect();
    check(&cases);
}

/// `JOIN … USING (…) AS alias`: a column through the join alias is a read
/// of that column in every joined relation, so a denied column cannot hide
/// behind it; a join alias over a subquery stays unsupported.
#[test]
fn join_using_aliases_are_judged_like_their_relations() {
    check(&[
        (
            S,
            "SELECT j.id, o.status FROM orders o JOIN order_items i USING (id) AS j",
            "allow",
        ),
        (
            S,
            "SELECT j.marketing_opt_in FROM customers c JOIN orders o USING (id) AS j",
            "column_denied",
        ),
        (
            S,
            "SELECT j.id FROM customers c JOIN payment_methods p USING (id) AS j",
            "table_denied",
        ),
        (
            S,
            "SELECT j.id FROM orders o JOIN (SELECT 1 AS id) s USING (id) AS j",
            "unsupported_statement",
        ),
    ]);
}
