"""psycopg2 (psycopg2-binary) through actgate (tests/python_clients.rs).

Usage: python3 psycopg2_client.py ANALYTICS_URL SUPPORT_BOT_URL

psycopg2 interpolates parameters on the client and sends everything with
the simple protocol; outside autocommit it sends BEGIN before the first
statement of a transaction. Its read-only mode is `BEGIN READ ONLY`, or
`SET default_transaction_read_only` in autocommit.
"""

import psycopg2
import psycopg2.errors
import psycopg2.extras
import psycopg2.pool

from clientmatrix import psycopg_refusal, urls


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def main(analytics, support_bot):
    conn = psycopg2.connect(analytics, connect_timeout=10)
    print(
        f"connected: {psycopg2.__version__.split()[0].count('.') == 2} "
        f"server>=13={conn.server_version >= 130000} encoding={conn.encoding}"
    )
    # What the driver and its extras look up on the catalog.
    psycopg2.extras.register_default_jsonb(conn)
    product_type = psycopg2.extras.register_composite("products", conn)
    conn.commit()
    print(f"introspection: composite {product_type.name} {len(product_type.attnames)} attributes")

    with conn.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")
        print("simple: " + " ".join(f"{s}={n}" for s, n in cur.fetchall()))
        cur.execute("SELECT count(*) FROM orders WHERE status = %s AND total_cents >= %s", ["paid", 0])
        print(f"parameterised: {cur.fetchone()[0]}")
        cur.execute("SELECT count(*) FROM orders WHERE status = ANY(%s)", [["paid", "shipped"]])
        print(f"any list: {cur.fetchone()[0]}")
        cur.execute("SELECT p FROM products p WHERE p.id = %s", [16])
        p = cur.fetchone()[0]
        print(f"composite row: {p.sku} {p.price_cents}")
        psycopg2.extras.execute_values(
            cur, "SELECT count(*) FROM orders o JOIN (VALUES %s) v(s) ON o.status = v.s",
            [("paid",), ("pending",)],
        )
        print(f"execute_values: {cur.fetchone()[0]}")
    # psycopg2 has no server-side prepared statements of its own: the same
    # text run many times is the client's cached query.
    counts = [one(conn, "SELECT count(*) FROM order_items WHERE quantity = %s", [q]) for q in (1, 2, 3) * 3]
    print(f"repeated: {counts[:3]} x{len(counts) // 3}")
    print(f"transaction: {conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS}")
    conn.commit()
    print(f"committed: {conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE}")

    # An ordinary PostgreSQL error, then rollback.
    try:
        one(conn, "SELECT count(*) / 0 FROM orders")
    except psycopg2.errors.DivisionByZero as e:
        print(f"error: {e.pgcode}")
    conn.rollback()
    # A refusal: an ordinary driver exception with message, DETAIL and HINT.
    try:
        one(conn, "SELECT password_hash FROM staff_users")
        print("refused: NOT REFUSED")
    except psycopg2.errors.InsufficientPrivilege as e:
        print(f"refused: {type(e).__name__} {psycopg_refusal(e)}")
    print(f"aborted: {conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR}")
    conn.rollback()
    try:
        one(conn, "SELECT email FROM customers WHERE id = %s", [42])
    except psycopg2.errors.InsufficientPrivilege as e:
        print(f"refused column: {psycopg_refusal(e)}")
    conn.rollback()
    print(f"still usable: {one(conn, 'SELECT count(*) FROM customers')}")
    conn.commit()

    # Client-side streaming: fetchmany over an ordinary cursor.
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM orders ORDER BY id")
        batches = 0
        while cur.fetchmany(64):
            batches += 1
    conn.commit()
    print(f"fetchmany: {batches} batches")

    # Read-only mode: BEGIN READ ONLY per transaction ...
    conn.set_session(readonly=True)
    print(f"read-only: {one(conn, 'SHOW transaction_read_only')}")
    conn.commit()
    conn.set_session(readonly=False)
    print(f"read-write again: {one(conn, 'SHOW transaction_read_only')}")
    conn.commit()
    # ... and SET default_transaction_read_only in autocommit.
    conn.autocommit = True
    conn.readonly = True
    print(f"read-only autocommit: {one(conn, 'SHOW default_transaction_read_only')}")
    conn.readonly = None
    print(f"reset: {one(conn, 'SHOW default_transaction_read_only')}")
    try:
        one(conn, "SELECT * FROM payment_methods")
    except psycopg2.errors.InsufficientPrivilege as e:
        print(f"refused autocommit: {psycopg_refusal(e)}")
    print(f"usable autocommit: {one(conn, 'SELECT 1')}")
    conn.close()

    # Its pools, with the secret agent and with the token agent.
    for name, url, sql, arg in (
        ("secret", analytics, "SELECT count(*) FROM orders WHERE status = %s", "paid"),
        ("token", support_bot, "SELECT count(*) FROM orders WHERE customer_id = %s", 42),
    ):
        pool = psycopg2.pool.ThreadedConnectionPool(1, 2, url, connect_timeout=10)
        c1 = pool.getconn()
        first = one(c1, sql, [arg])
        pool.putconn(c1)  # rolled back on return
        c2 = pool.getconn()
        again = one(c2, sql, [arg])
        c3 = pool.getconn()
        c3.autocommit = True
        third = one(c3, sql, [arg])
        pool.putconn(c3)
        pool.putconn(c2)
        pool.closeall()
        print(f"pool {name}: {first} {again} {third} reused={c1 is c2}")

    # The token agent: its scope, a refusal outside it, and a write it may
    # make in a transaction.
    conn = psycopg2.connect(support_bot, connect_timeout=10)
    print(f"token: {one(conn, 'SELECT count(*) FROM orders WHERE customer_id = ANY(%s)', [[42]])}")
    try:
        one(conn, "SELECT count(*) FROM orders WHERE customer_id = %s", [7])
    except psycopg2.errors.InsufficientPrivilege as e:
        print(f"token refused: {psycopg_refusal(e)}")
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE orders SET notes = %s WHERE customer_id = %s AND id = %s",
            ["called the customer", 42, 24],
        )
        print(f"token write in transaction: {cur.rowcount}")
    conn.rollback()
    conn.close()
    print("closed")


if __name__ == "__main__":
    main(*urls())
