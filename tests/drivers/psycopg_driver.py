"""psycopg 3 through actgate as the `analytics` agent (tests/drivers.rs).

Usage: python3 psycopg_driver.py URL

Prints one line per step; tests/drivers.rs compares the output exactly.
Any unexpected exception ends the script with a traceback and a non-zero
status.
"""

import sys

import psycopg
from psycopg.types import TypeInfo
from psycopg.types.composite import CompositeInfo, register_composite


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


def main(url):
    # Default settings: not autocommit, so psycopg opens a transaction
    # (BEGIN) before the first statement on its own.
    with psycopg.connect(url, connect_timeout=10) as conn:
        print(f"connected: PostgreSQL {conn.info.server_version // 10000 >= 13}")

        with conn.cursor() as cur:
            cur.execute(
                "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status"
            )
            rows = cur.fetchall()
            print("aggregate: " + " ".join(f"{s}={n}" for s, n in rows))
        conn.commit()

        # Server-side binding: the extended protocol with a parameter.
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM orders WHERE status = %s", ["paid"])
            print(f"parameterised: {cur.fetchone()[0]}")
        conn.commit()

        # The same statement over and over: psycopg prepares it on the server
        # (a named prepared statement) from its sixth run on
        # (prepare_threshold = 5), and deallocates its prepared statements
        # on the next rollback.
        with conn.cursor() as cur:
            counts = []
            for status in ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]:
                cur.execute("SELECT count(*) FROM orders WHERE status = %s", [status])
                counts.append(cur.fetchone()[0])
            print(f"prepared: {counts}")
            cur.execute("SELECT count(*) FROM order_items WHERE quantity = %s", [2], prepare=True)
            print(f"prepared explicitly: {cur.fetchone()[0]}")
            cur.execute("SELECT count(*) FROM pg_prepared_statements")
            print(f"server-side prepared statements: {cur.fetchone()[0]}")
        conn.commit()

        # A denied query is an ordinary driver exception.
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT password_hash FROM staff_users")
            print("denied: NOT DENIED")
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"denied: {type(e).__name__} {e.sqlstate} {reason(e.diag.message_detail)}")
        print(f"transaction after denial: {conn.info.transaction_status.name}")
        conn.rollback()

        # The connection is still usable.
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM orders")
            print(f"after denial: {cur.fetchone()[0]}")
        conn.commit()

        # psycopg's implicit transaction, committed.
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM products WHERE active")
            active = cur.fetchone()[0]
            cur.execute(
                "SELECT sum(amount_cents) FROM refunds WHERE reason = %s",
                ["late delivery goodwill credit"],
            )
            goodwill = cur.fetchone()[0]
            print(f"in transaction: {conn.info.transaction_status.name}")
        conn.commit()
        print(f"committed: {conn.info.transaction_status.name} active={active} goodwill={goodwill > 0}")

        # An explicit transaction block, and a denial inside one: the block
        # fails like after any Postgres error and the connection recovers.
        with conn.transaction():
            with conn.cursor() as cur:
                cur.execute("SELECT max(created_at) < now() FROM orders")
                print(f"transaction block: {cur.fetchone()[0]}")
        try:
            with conn.transaction():
                with conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM customers")
                    cur.execute("SELECT card_token FROM payment_methods")
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"denied in block: {e.sqlstate} {reason(e.diag.message_detail)}")
        conn.commit()
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM customers WHERE country = %s", ["US"])
            print(f"after block: {cur.fetchone()[0]}")
        conn.commit()

        # Type introspection as psycopg does it when registering types.
        info = TypeInfo.fetch(conn, "numeric")
        print(f"typeinfo: {info.name} oid={info.oid} array_oid={info.array_oid}")
        composite = CompositeInfo.fetch(conn, "products")
        register_composite(composite, conn)
        with conn.cursor() as cur:
            cur.execute("SELECT p FROM products p WHERE p.id = %s", [16])
            product = cur.fetchone()[0]
            print(
                f"composite: {type(product).__name__} {product.sku} "
                f"{product.price_cents} {product.active}"
            )
        conn.commit()

        # Autocommit too: no BEGIN, each statement on its own.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM order_items")
            print(f"autocommit: {cur.fetchone()[0]}")
            try:
                cur.execute("SELECT * FROM staff_users")
            except psycopg.errors.InsufficientPrivilege as e:
                print(f"denied autocommit: {e.sqlstate} {reason(e.diag.message_detail)}")
            cur.execute("SELECT 1")
            print(f"still usable: {cur.fetchone()[0]}")
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1])
