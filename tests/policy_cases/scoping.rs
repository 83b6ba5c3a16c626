//! Row scoping with claims (the test agent `scoped`).

use super::*;

/// Row scoping with claims (`scope = { customer_id = "{{claims.customer_id}}" }`
/// on orders for the test agent `scoped`): only top-level AND conjuncts of
/// each use's own WHERE count.
#[test]
fn row_scoping_with_claims() {
    use common::policy::outcome_with_claims;
    let c42 = [("customer_id", "42")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        ("SELECT * FROM orders WHERE customer_id = 42", &c42, "allow"),
        (
            "SELECT * FROM orders WHERE customer_id = '42'",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bigint",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42)",
            &c42,
            "allow",
        ),
        ("SELECT * FROM orders WHERE 42 = customer_id", &c42, "allow"),
        (
            "SELECT id FROM orders o WHERE o.customer_id = 42 AND o.status = 'paid'",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND (status = 'paid' OR status = 'shipped')",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND id IN (SELECT order_id FROM order_items)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        ("SELECT * FROM orders", &c42, "scope_missing"),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR true",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT (customer_id <> 42)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id > 41 AND customer_id < 43",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = id",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 43)",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 042)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42])",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, 7])",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id NOT IN (43)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (SELECT 42)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = $1",
            &c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders o JOIN orders p ON p.id = o.id WHERE o.customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 UNION ALL SELECT * FROM orders WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT customer_id, count(*) FROM orders GROUP BY customer_id HAVING customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders) SELECT * FROM x WHERE customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM orders WHERE customer_id = 42) s",
            &c42,
            "allow",
        ),
        (
            "SELECT (SELECT count(*) FROM orders) FROM customers WHERE id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 AND id = 7",
            &c42,
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE id = 7",
            &c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (43, 'US')",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (shipping_country) VALUES ('US')",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42 + 1, 'US')",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT 42, 'US'",
            &c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT customer_id, 'US' FROM orders WHERE customer_id = 43",
            &c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, 42, 'pending', 0, 'USD', 'US')",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, 43, 'pending', 0, 'USD', 'US')",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ($1, 'US')",
            &c42,
            "scope_parameter",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid'",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET customer_id = 43 WHERE orders.customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET customer_id = 42 WHERE customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET (status, customer_id) = ('paid', 43) WHERE customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            &[],
            "claim_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            &[("tenant", "x")],
            "claim_missing",
        ),
        ("SELECT id FROM customers", &[], "allow"),
    ];
    let mut failures = Vec::new();
    for (sql, claims, expected) in cases {
        let got = outcome_with_claims("scoped", sql, claims);
        if got != *expected {
            failures.push(format!(
                "  {sql} {claims:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// More row scoping for the test agent `scoped` (orders scoped by
/// `customer_id = {{claims.customer_id}}`): every use of orders (joins,
/// subqueries, CTEs, set operations, writes) must be pinned in its own
/// WHERE by a top-level AND conjunct with an evident value. Outcomes use
/// the `matches` syntax (`a|b`, `deny`). PostgreSQL 15 semantics were
/// checked where noted.
#[test]
fn more_row_scoping() {
    use common::policy::outcome_with_claims;
    let c42: &[(&str, &str)] = &[("customer_id", "42")];
    let c43: &[(&str, &str)] = &[("customer_id", "43")];
    let c042: &[(&str, &str)] = &[("customer_id", "042")];
    let none: &[(&str, &str)] = &[];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        // Aliases, with and without AS, quoted, column aliases.
        (
            "SELECT * FROM orders AS o WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o WHERE o.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders \"O\" WHERE \"O\".customer_id = 42",
            c42,
            "allow",
        ),
        // "O" is not o: Postgres reports a missing FROM-clause entry.
        (
            "SELECT * FROM orders \"O\" WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders AS O WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        // The alias hides the table name (Postgres: invalid reference).
        (
            "SELECT * FROM orders o WHERE orders.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM public.orders WHERE orders.customer_id = 42",
            c42,
            "allow",
        ),
        // Correct Postgres, but a three-part reference is not pinned: a
        // conservative denial is acceptable.
        (
            "SELECT * FROM public.orders WHERE public.orders.customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        ("SELECT * FROM orders AS o(x, y) WHERE y = 42", c42, "allow"),
        (
            "SELECT * FROM orders AS o(a, b) WHERE o.b = 42",
            c42,
            "allow",
        ),
        // o(customer_id) renames id; the real customer_id keeps its name,
        // so Postgres reports customer_id as ambiguous.
        (
            "SELECT * FROM orders AS o(customer_id) WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Swapped names: customer_id is orders.id here.
        (
            "SELECT * FROM orders AS o(customer_id, id) WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Case and quoting of column and table names.
        ("SELECT * FROM orders WHERE CUSTOMER_ID = 42", c42, "allow"),
        (
            "SELECT * FROM orders WHERE \"customer_id\" = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE \"Customer_Id\" = 42",
            c42,
            "scope_missing",
        ),
        ("SELECT * FROM ORDERS WHERE Customer_Id = 42", c42, "allow"),
        (
            "SELECT * FROM \"orders\" WHERE \"orders\".\"customer_id\" = 42",
            c42,
            "allow",
        ),
        // Joins: each use of orders pinned in its own WHERE.
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id AND o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON o.customer_id = c.id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o LEFT JOIN orders p ON p.id = o.id AND p.customer_id = 42 WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o RIGHT JOIN customers c ON c.id = o.customer_id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c RIGHT JOIN orders o ON o.customer_id = c.id AND c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o FULL JOIN orders p ON p.id = o.id WHERE o.customer_id = 42 AND p.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o FULL JOIN orders p ON p.id = o.id WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders CROSS JOIN customers WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o CROSS JOIN orders p WHERE o.customer_id = 42 AND p.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders o, orders p WHERE o.customer_id = 42 AND p.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o, orders p WHERE o.customer_id = 42 AND p.customer_id = o.customer_id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o, customers c WHERE o.customer_id = c.id AND c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON true WHERE o.customer_id = c.id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (orders o JOIN customers c ON c.id = o.customer_id) WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        // Through a join alias or USING: restricted in Postgres, but not
        // evident to the analyzer; denying is acceptable.
        (
            "SELECT * FROM (orders o JOIN customers c ON c.id = o.customer_id) j WHERE j.customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders a JOIN orders b USING (customer_id) WHERE customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders a JOIN orders b USING (id) WHERE a.customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Subqueries: select list, IN, EXISTS, derived tables, LATERAL, correlated.
        (
            "SELECT id, (SELECT count(*) FROM orders WHERE customer_id = 42) FROM customers",
            c42,
            "allow",
        ),
        (
            "SELECT (SELECT max(total_cents) FROM orders o2 WHERE o2.customer_id = o.customer_id) FROM orders o WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE customer_id = 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = 42 AND o.customer_id = c.id)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = 43)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND total_cents > (SELECT avg(total_cents) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM orders) s WHERE s.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM (SELECT * FROM orders WHERE customer_id = 42) a) b",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c, LATERAL (SELECT * FROM orders o WHERE o.customer_id = c.id) x WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c CROSS JOIN LATERAL (SELECT * FROM orders o WHERE o.customer_id = 42 AND o.customer_id = c.id) x",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN LATERAL (SELECT * FROM orders o WHERE o.customer_id = 43) x ON true",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders o WHERE o.customer_id = 42 AND EXISTS (SELECT 1 FROM orders p WHERE p.id = o.id)",
            c42,
            "scope_missing",
        ),
        // The inner customer_id is the outer o's column: not a pin of o's WHERE.
        (
            "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM customers WHERE customer_id = 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 ORDER BY (SELECT max(id) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 LIMIT (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (TABLE orders) t WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 UNION ALL TABLE orders",
            c42,
            "scope_missing",
        ),
        // CTEs: each use inside and outside.
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x",
            c42,
            "allow",
        ),
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x JOIN orders o ON o.id = x.id",
            c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x JOIN orders o ON o.id = x.id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "WITH orders AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM orders",
            c42,
            "allow",
        ),
        (
            "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders) SELECT 1",
            c42,
            "scope_missing",
        ),
        (
            "WITH a AS (SELECT * FROM orders WHERE customer_id = 42), b AS (SELECT * FROM orders WHERE customer_id = 43) SELECT * FROM a",
            c42,
            "scope_violation",
        ),
        (
            "WITH x AS MATERIALIZED (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x",
            c42,
            "allow",
        ),
        (
            "WITH RECURSIVE r AS (SELECT id FROM orders WHERE customer_id = 42 UNION ALL SELECT o.id FROM orders o JOIN r ON o.id = r.id + 1) SELECT * FROM r",
            c42,
            "scope_missing",
        ),
        (
            "WITH RECURSIVE r AS (SELECT id FROM orders WHERE customer_id = 42 UNION ALL SELECT o.id FROM orders o JOIN r ON o.id = r.id + 1 WHERE o.customer_id = 42) SELECT * FROM r",
            c42,
            "allow",
        ),
        (
            "WITH u AS (UPDATE orders SET status = 'paid' WHERE customer_id = 42 RETURNING id) SELECT * FROM u",
            c42,
            "allow",
        ),
        (
            "WITH u AS (UPDATE orders SET status = 'paid' WHERE customer_id = 43 RETURNING id) SELECT * FROM u",
            c42,
            "scope_violation",
        ),
        (
            "WITH i AS (INSERT INTO orders (customer_id, shipping_country) VALUES (43, 'US') RETURNING id) SELECT * FROM i",
            c42,
            "scope_violation",
        ),
        // Set operations: each branch.
        (
            "SELECT id FROM orders WHERE customer_id = 42 UNION SELECT id FROM orders WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 UNION SELECT id FROM orders",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 INTERSECT SELECT id FROM orders",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 EXCEPT SELECT id FROM orders WHERE customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "(SELECT id FROM orders WHERE customer_id = 42) UNION ALL (SELECT id FROM orders WHERE customer_id = 42 EXCEPT SELECT id FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM customers UNION SELECT id FROM orders WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42; SELECT * FROM orders",
            c42,
            "scope_missing",
        ),
        // OR-widening and other non-conjunct shapes.
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR customer_id = 43",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42 OR true)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR id = 1",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT (customer_id <> 42) AND true",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT NOT (customer_id = 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42) IS TRUE",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE COALESCE(customer_id = 42, true)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE CASE WHEN id > 0 THEN customer_id = 42 ELSE true END",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND (id = 1 OR true)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE true AND customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE ((customer_id = 42) AND (status = 'paid'))",
            c42,
            "allow",
        ),
        (
            "SELECT customer_id, count(*) FROM orders WHERE true GROUP BY customer_id HAVING customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Comparisons with columns, ranges, other operators.
        (
            "SELECT * FROM orders WHERE customer_id = customer_id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IS NOT DISTINCT FROM 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id BETWEEN 42 AND 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id >= 42 AND customer_id <= 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id <> 43",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id, id) = (42, 1)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id::text = '42'",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id + 0 = 42",
            c42,
            "scope_missing",
        ),
        // Casts: value-preserving casts are looked through.
        (
            "SELECT * FROM orders WHERE customer_id = '42'::int8",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = CAST(42 AS bigint)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = CAST('43' AS bigint)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bigint::int",
            c42,
            "allow",
        ),
        // A typed literal: restricted to 42, denying is acceptable.
        (
            "SELECT * FROM orders WHERE customer_id = bigint '42'",
            c42,
            "allow|scope_missing",
        ),
        // Casts that change the value (PostgreSQL 15): '42'::char(1) is
        // '4', 42::bit(3)::int is 2 (customer 2's five orders come back),
        // 42::numeric(2,-1) is 40, '42'::"char"::int is 52. The literal
        // reads 42 but the comparison is with another customer.
        (
            "SELECT * FROM orders WHERE customer_id = '42'::char(1)::bigint",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bit(3)::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::numeric(2,-1)",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '42'::\"char\"::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42::bit(3)::int)",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42::bit(3)::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42::bit(3)::int, 'US')",
            c42,
            "scope_missing|scope_violation",
        ),
        // Expressions are not evident values.
        (
            "SELECT * FROM orders WHERE customer_id = 41 + 1",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = abs(-42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = -(-42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = (SELECT 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = +42",
            c42,
            "allow|scope_missing",
        ),
        // Literal spellings: numbers by value, strings as Postgres reads
        // them into bigint (int8in trims blanks).
        ("SELECT * FROM orders WHERE customer_id = 042", c42, "allow"),
        (
            "SELECT * FROM orders WHERE customer_id = '042'",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ' 42 '",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '043'",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '43'",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '42abc'",
            c42,
            "deny",
        ),
        // 42.0 equals 42 in Postgres: allowing is precise, a denial is safe.
        (
            "SELECT * FROM orders WHERE customer_id = 42.0",
            c42,
            "allow|scope_violation",
        ),
        // IN lists.
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 42, 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN ('42', 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, '43')",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (43, 42)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, NULL)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id NOT IN (42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 41 + 1)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42) OR customer_id IN (43)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN ($1)",
            c42,
            "scope_parameter",
        ),
        // ANY / ALL.
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, 42])",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[43])",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, NULL])",
            c42,
            "scope_missing",
        ),
        // A string array literal is not an evident value.
        (
            "SELECT * FROM orders WHERE customer_id = ANY('{42}')",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY('{42}'::bigint[])",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id <> ANY(ARRAY[43])",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ALL(ARRAY[42])",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(SELECT 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            c42,
            "scope_parameter",
        ),
        // Parameters cannot be checked in a simple Query.
        (
            "SELECT * FROM orders WHERE customer_id = $1::bigint",
            c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = $2 AND id = $1",
            c42,
            "scope_parameter",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = $1",
            c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND customer_id = $1",
            c42,
            "allow|scope_parameter",
        ),
        // UPDATE: may not change the scoped column, each use pinned.
        (
            "UPDATE orders SET customer_id = 43 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET CUSTOMER_ID = 42 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET \"customer_id\" = 42 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET (status, customer_id) = (SELECT 'paid', 43) WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders o SET customer_id = c.id FROM customers c WHERE o.customer_id = 42 AND c.id = 43",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders o SET status = 'paid' FROM orders p WHERE o.customer_id = 42 AND p.id = o.id",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders o SET status = 'paid' FROM orders p WHERE o.customer_id = 42 AND p.customer_id = 42 AND p.id = o.id",
            c42,
            "allow",
        ),
        (
            "UPDATE orders SET notes = (SELECT notes FROM orders WHERE customer_id = 43 LIMIT 1) WHERE customer_id = 42",
            c42,
            "scope_violation",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 RETURNING (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 OR true",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders AS o SET status = 'paid' WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        ("UPDATE orders SET status = 'paid'", c42, "missing_where"),
        // DELETE is not a statement class of `scoped`: the class check
        // comes before scoping.
        (
            "DELETE FROM orders WHERE customer_id = 42",
            c42,
            "statement_class_denied",
        ),
        ("DELETE FROM orders", c42, "statement_class_denied"),
        (
            "WITH d AS (DELETE FROM orders WHERE customer_id = 42 RETURNING id) SELECT * FROM d",
            c42,
            "statement_class_denied",
        ),
        (
            "DELETE FROM orders WHERE customer_id = 42",
            none,
            "statement_class_denied",
        ),
        // INSERT: every row writes the scoped value.
        (
            "INSERT INTO orders (shipping_country, customer_id) VALUES ('US', 42)",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (\"customer_id\", shipping_country) VALUES ('42', 'US')",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (CUSTOMER_ID, shipping_country) VALUES (042, 'US')",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ('43', 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (NULL, 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (DEFAULT, 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ((SELECT 42), 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (42, 'CA'), (43, 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (41 + 1, 'US')",
            c42,
            "scope_missing",
        ),
        // Positional: id, customer_id, status, total_cents, … (catalog order).
        (
            "INSERT INTO orders VALUES (42, 1, 'pending', 0, 'USD', 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, '42', 'paid', 100, 'USD', 'US', 'n', now(), now())",
            c42,
            "allow",
        ),
        ("INSERT INTO orders VALUES (1)", c42, "scope_missing"),
        (
            "INSERT INTO orders VALUES (DEFAULT, 42, 'pending', 0, 'USD', 'US', NULL, now(), now(), 'extra')",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders DEFAULT VALUES",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') UNION ALL VALUES (43, 'US')",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) (VALUES (43, 'US'))",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT customer_id, 'US' FROM orders WHERE customer_id = 42",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country, notes) VALUES (42, 'US', (SELECT notes FROM orders WHERE customer_id = 43 LIMIT 1))",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') RETURNING (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        // ON CONFLICT.
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') ON CONFLICT DO NOTHING",
            c42,
            "allow",
        ),
        // excluded is the proposed row; the existing row may be another customer's.
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE excluded.customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Postgres: column reference "customer_id" is ambiguous.
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 42 OR true",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id WHERE orders.customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT ON CONSTRAINT orders_pkey DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 43, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            c42,
            "scope_violation",
        ),
        // Claims: missing, another customer, leading zeros.
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            c43,
            "scope_violation",
        ),
        ("SELECT * FROM orders WHERE customer_id = 43", c43, "allow"),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            c43,
            "scope_violation",
        ),
        ("SELECT * FROM orders WHERE customer_id = 42", c042, "allow"),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            none,
            "claim_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42",
            none,
            "claim_missing",
        ),
        ("SELECT * FROM customers WHERE id = 43", none, "allow"),
        // customers and order_items are not scoped for `scoped`.
        ("SELECT * FROM customers WHERE id = 43", c42, "allow"),
        (
            "UPDATE customers SET full_name = 'x' WHERE id = 43",
            c42,
            "allow",
        ),
        ("SELECT * FROM order_items", c42, "allow"),
        (
            "SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, claims, expected) in cases {
        let got = outcome_with_claims("scoped", sql, claims);
        if !matches(expected, &got) {
            failures.push(format!(
                "  {sql} {claims:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
