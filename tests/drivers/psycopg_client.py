"""psycopg 3 and psycopg_pool through actgate (tests/python_clients.rs).

Usage: python3 psycopg_client.py ANALYTICS_URL SUPPORT_BOT_URL

psycopg 3 binds parameters on the server (extended protocol), prepares a
statement on the server from its sixth run (prepare_threshold = 5),
pipelines in pipeline mode, and opens a transaction before the first
statement unless in autocommit. tests/drivers.rs covers its basics; this
adds pipeline mode, streaming, type introspection of a domain, its
read-only mode and psycopg_pool (sync and async) with both kinds of agent.
"""

import asyncio

import psycopg
import psycopg_pool
from psycopg.types import TypeInfo

from clientmatrix import psycopg_refusal, urls


def one(conn, sql, args=None, **kw):
    return conn.execute(sql, args, **kw).fetchone()[0]


def main(analytics, support_bot):
    with psycopg.connect(analytics, connect_timeout=10) as conn:
        print(f"connected: server>=13={conn.info.server_version >= 130000} {conn.info.encoding}")
        # Introspection: a domain (information_schema.sql_identifier).
        info = TypeInfo.fetch(conn, "information_schema.sql_identifier")
        print(f"typeinfo: {info.name} {info.oid > 0}")
        conn.commit()
        print(f"simple: {one(conn, 'SELECT count(*) FROM orders')}")
        print(f"parameterised: {one(conn, 'SELECT count(*) FROM orders WHERE status = %s', ['paid'])}")
        print(f"any list: {one(conn, 'SELECT count(*) FROM orders WHERE status = ANY(%s)', [['paid', 'shipped']])}")
        counts = [
            one(conn, "SELECT count(*) FROM order_items WHERE quantity = %s", [q])
            for q in (1, 2, 3, 1, 2, 3, 1, 2)
        ]
        print(f"past prepare_threshold: {counts}")
        print(f"binary: {one(conn, 'SELECT sum(total_cents) > 0 FROM orders WHERE status = %b', ['paid'], binary=True)}")
        conn.commit()

        # Pipeline mode, in a transaction and in autocommit.
        with conn.pipeline():
            curs = [conn.execute("SELECT count(*) FROM orders WHERE status = %s", [s]) for s in ("paid", "shipped", "pending")]
            conn.execute("SELECT count(*) FROM products WHERE active = %s", [True])
        print(f"pipeline: {[c.fetchone()[0] for c in curs]}")
        conn.commit()

        # An ordinary error, then rollback; then a refusal.
        try:
            one(conn, "SELECT count(*) / 0 FROM orders")
        except psycopg.errors.DivisionByZero as e:
            print(f"error: {e.sqlstate} {conn.info.transaction_status.name}")
        conn.rollback()
        try:
            one(conn, "SELECT password_hash FROM staff_users WHERE id = %s", [1])
            print("refused: NOT REFUSED")
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"refused: {type(e).__name__} {psycopg_refusal(e)}")
        conn.rollback()
        try:
            with conn.pipeline():
                conn.execute("SELECT count(*) FROM orders WHERE status = %s", ["paid"])
                conn.execute("SELECT email FROM customers WHERE id = %s", [42])
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"refused in pipeline: {psycopg_refusal(e)}")
        conn.rollback()
        print(f"still usable: {one(conn, 'SELECT count(*) FROM refunds WHERE amount_cents > %s', [0]) > 0}")
        conn.commit()

        # Client-side streaming (single-row mode).
        ids = [r[0] for r in conn.cursor().stream("SELECT id FROM orders WHERE status = %s ORDER BY id", ["delivered"])]
        print(f"stream: {len(ids)} rows, first {ids[0]}")
        conn.commit()

        # Read-only mode: BEGIN READ ONLY.
        conn.read_only = True
        print(f"read-only: {one(conn, 'SHOW transaction_read_only')}")
        conn.commit()
        conn.read_only = None
        print(f"default: {one(conn, 'SHOW transaction_read_only')}")
        conn.commit()
        with conn.transaction():
            print(f"transaction block: {one(conn, 'SELECT count(*) FROM customers WHERE country = %s', ['US']) > 0}")
        conn.autocommit = True
        print(f"autocommit: {one(conn, 'SELECT count(*) FROM order_items')}")

    # psycopg_pool, with the secret agent and the token agent: a checked-in
    # connection is rolled back (or reset) and reused.
    for name, url, sql, arg in (
        ("secret", analytics, "SELECT count(*) FROM orders WHERE status = %s", "paid"),
        ("token", support_bot, "SELECT count(*) FROM orders WHERE customer_id = %s", 42),
    ):
        with psycopg_pool.ConnectionPool(url, min_size=1, max_size=2, open=True, timeout=10,
                                         kwargs={"connect_timeout": 10}) as pool:
            pool.wait()
            with pool.connection() as c:
                first = one(c, sql, [arg])
                pid = c.info.backend_pid
            with pool.connection() as c:
                same = c.info.backend_pid == pid
                again = [one(c, sql, [arg]) for _ in range(7)]
            try:
                with pool.connection() as c:
                    one(c, "SELECT card_token FROM payment_methods WHERE customer_id = %s", [42])
            except psycopg.errors.InsufficientPrivilege as e:
                refused = psycopg_refusal(e)
            with pool.connection() as c:
                after = one(c, sql, [arg])
            print(f"pool {name}: {first} reused={same} {set(again)} refused={refused} after={after}")

    async def async_pool():
        async with psycopg_pool.AsyncConnectionPool(support_bot, min_size=1, max_size=2, timeout=10) as pool:
            async def count(status):
                async with pool.connection() as c:
                    cur = await c.execute(
                        "SELECT count(*) FROM orders WHERE customer_id = %s AND status = %s", [42, status]
                    )
                    return (await cur.fetchone())[0]
            return await asyncio.gather(*(count(s) for s in ("delivered", "shipped", "paid")))

    print(f"async pool token: {asyncio.run(async_pool())}")

    # The token agent outside its scope, and read-only.
    with psycopg.connect(support_bot, connect_timeout=10) as conn:
        try:
            one(conn, "SELECT count(*) FROM orders WHERE customer_id = %s", [7])
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"token refused: {psycopg_refusal(e)}")
        conn.rollback()
        conn.read_only = True
        print(f"token read-only: {one(conn, 'SELECT count(*) FROM orders WHERE customer_id = %s', [42])} {one(conn, 'SHOW transaction_read_only')}")
    print("closed")


if __name__ == "__main__":
    main(*urls())
