"""asyncpg through actgate as the `analytics` agent (tests/drivers.rs).

Usage: python3 asyncpg_driver.py URL

asyncpg prepares every statement (named, extended protocol), keeps a
statement cache, and introspects the catalog for any type it has no
built-in codec for. Prints one line per step; tests/drivers.rs compares
the output exactly. Any unexpected exception ends the script with a
traceback and a non-zero status.
"""

import asyncio
import json
import sys

import asyncpg


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


async def main(url):
    conn = await asyncpg.connect(url, timeout=10)
    try:
        print(f"connected: PostgreSQL {conn.get_server_version().major >= 13}")

        rows = await conn.fetch(
            "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status"
        )
        print("aggregate: " + " ".join(f"{r['status']}={r['count']}" for r in rows))

        paid = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE status = $1", "paid"
        )
        print(f"parameterised: {paid}")
        # The same statement again: from asyncpg's statement cache.
        shipped = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE status = $1", "shipped"
        )
        print(f"cached statement: {shipped}")

        try:
            await conn.fetch("SELECT password_hash FROM staff_users")
            print("denied: NOT DENIED")
        except asyncpg.exceptions.InsufficientPrivilegeError as e:
            print(f"denied: {type(e).__name__} {e.sqlstate} {reason(e.detail)}")

        print(f"after denial: {await conn.fetchval('SELECT count(*) FROM orders')}")

        # numeric, timestamptz, an array and a date: built-in codecs.
        row = await conn.fetchrow(
            "SELECT sum(total_cents)::numeric / 100 AS revenue, "
            "min(created_at) AS first_order, "
            "array_agg(DISTINCT status ORDER BY status) AS statuses, "
            "max(created_at)::date AS last_day "
            "FROM orders WHERE status = $1",
            "delivered",
        )
        print(
            f"types: revenue={type(row['revenue']).__name__} "
            f"first_order={row['first_order'].isoformat()} "
            f"statuses={row['statuses']} last_day={row['last_day'].isoformat()}"
        )

        # Catalog introspection: asyncpg looks a type up by name to install
        # a codec, and introspects a composite (a table's row type) it has
        # no codec for.
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        doc = await conn.fetchval(
            "SELECT jsonb_build_object('orders', count(*), 'currency', min(currency)) "
            "FROM orders"
        )
        print(f"jsonb codec: {json.dumps(doc, sort_keys=True)}")
        product = await conn.fetchval("SELECT p FROM products p WHERE p.id = $1", 16)
        print(f"composite: {product['sku']} {product['price_cents']} {product['active']}")

        # Transactions: asyncpg's own BEGIN/COMMIT, with options, and a
        # denial inside one rolling it back.
        async with conn.transaction():
            n = await conn.fetchval("SELECT count(*) FROM refunds")
            print(f"in transaction: {conn.is_in_transaction()} refunds>0={n > 0}")
        print(f"committed: {not conn.is_in_transaction()}")
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            n = await conn.fetchval("SELECT count(*) FROM order_items")
            print(f"read-only repeatable read: {n > 0}")
        try:
            async with conn.transaction():
                await conn.fetchval("SELECT count(*) FROM customers")
                await conn.fetch("SELECT card_token FROM payment_methods")
        except asyncpg.exceptions.InsufficientPrivilegeError as e:
            print(f"denied in transaction: {e.sqlstate} {reason(e.detail)}")
        print(f"rolled back: {not conn.is_in_transaction()}")
        us = await conn.fetchval(
            "SELECT count(*) FROM customers WHERE country = $1", "US"
        )
        print(f"after transaction: {us > 0}")

        # A prepared statement object, run with different arguments.
        stmt = await conn.prepare("SELECT count(*) FROM orders WHERE status = $1")
        counts = [await stmt.fetchval(s) for s in ("pending", "cancelled", "refunded")]
        print(f"prepared: {counts}")
    finally:
        await conn.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
