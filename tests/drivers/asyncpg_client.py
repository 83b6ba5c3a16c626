"""asyncpg through actgate (tests/python_clients.rs).

Usage: python3 asyncpg_client.py ANALYTICS_URL SUPPORT_BOT_URL

asyncpg prepares every statement (its statement cache), introspects the
catalog for any type it has no codec for (here a domain column:
information_schema's sql_identifier and yes_or_no), reads cursors as
portals with a row count per Execute, and resets a pooled connection on
release. tests/drivers.rs covers its basics; this adds cursors, domain
introspection, errors inside transactions, read-only transactions and
pools for both kinds of agent.
"""

import asyncio

import asyncpg

from clientmatrix import asyncpg_refusal, urls


async def main(analytics, support_bot):
    conn = await asyncpg.connect(analytics, timeout=10)
    print(f"connected: server>=13={conn.get_server_version().major >= 13}")
    # Custom type introspection: columns of domain types.
    rows = await conn.fetch(
        "SELECT table_name, is_insertable_into FROM information_schema.tables "
        "WHERE table_schema = $1 AND table_name = ANY($2::text[]) ORDER BY table_name",
        "public", ["orders", "products"],
    )
    print("domains: " + " ".join(f"{r['table_name']}:{type(r['table_name']).__name__}:{r['is_insertable_into']}" for r in rows))
    print(f"simple: {await conn.fetchval('SELECT count(*) FROM orders')}")
    print(f"parameterised: {await conn.fetchval('SELECT count(*) FROM orders WHERE status = $1', 'paid')}")
    print(f"any array: {await conn.fetchval('SELECT count(*) FROM orders WHERE status = ANY($1::text[])', ['paid', 'shipped'])}")
    stmt = await conn.prepare("SELECT count(*) FROM order_items WHERE quantity = $1")
    print(f"prepared reused: {[await stmt.fetchval(q) for q in (1, 2, 3, 1, 2, 3)]}")
    print(f"cached: {[await conn.fetchval('SELECT count(*) FROM orders WHERE customer_id = $1', c) for c in (42, 7, 42)]}")

    # Cursors: a portal read in chunks (Execute with a row count), inside
    # a transaction as asyncpg requires.
    async with conn.transaction():
        ids = [r["id"] async for r in conn.cursor("SELECT id FROM orders WHERE status = $1 ORDER BY id", "delivered", prefetch=16)]
        cur = await conn.cursor("SELECT id FROM orders ORDER BY id")
        chunk = await cur.fetch(5)
        row = await cur.fetchrow()
    print(f"cursor: {len(ids)} rows first {ids[0]}; fetch {[r['id'] for r in chunk]} then {row['id']}")

    # An ordinary error inside a transaction, rolled back.
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT count(*) FROM products")
            await conn.fetchval("SELECT count(*) / 0 FROM orders")
    except asyncpg.exceptions.DivisionByZeroError as e:
        print(f"error: {e.sqlstate} in transaction after: {conn.is_in_transaction()}")
    # A refusal with message, DETAIL and HINT.
    try:
        await conn.fetch("SELECT password_hash FROM staff_users WHERE id = $1", 1)
        print("refused: NOT REFUSED")
    except asyncpg.exceptions.InsufficientPrivilegeError as e:
        print(f"refused: {type(e).__name__} {asyncpg_refusal(e)}")
    try:
        async with conn.transaction():
            await conn.fetch("SELECT email FROM customers")
    except asyncpg.exceptions.InsufficientPrivilegeError as e:
        print(f"refused in transaction: {asyncpg_refusal(e)}")
    print(f"still usable: {await conn.fetchval('SELECT count(*) FROM customers')}")

    # Read-only mode: a read-only transaction.
    async with conn.transaction(readonly=True):
        print(f"read-only: {await conn.fetchval('SHOW transaction_read_only')}")
    async with conn.transaction(isolation="serializable", readonly=True):
        print(f"serializable read-only: {await conn.fetchval('SHOW transaction_isolation')}")
    await conn.close()

    # Pools with the secret agent and with the token agent.
    for name, url, sql, arg in (
        ("secret", analytics, "SELECT count(*) FROM orders WHERE status = $1", "paid"),
        ("token", support_bot, "SELECT count(*) FROM orders WHERE customer_id = $1", 42),
    ):
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=10)
        try:
            counts = await asyncio.gather(*(pool.fetchval(sql, arg) for _ in range(4)))
            async with pool.acquire() as c:
                async with c.transaction():
                    n = len([r async for r in c.cursor(sql.replace("count(*)", "id"), arg)])
            try:
                async with pool.acquire() as c:
                    await c.fetch("SELECT card_token FROM payment_methods WHERE customer_id = $1", 42)
            except asyncpg.exceptions.InsufficientPrivilegeError as e:
                refused = asyncpg_refusal(e)
            after = await pool.fetchval(sql, arg)
            print(f"pool {name}: {counts} cursor={n} refused={refused} after={after}")
        finally:
            await pool.close()

    conn = await asyncpg.connect(support_bot, timeout=10)
    try:
        await conn.fetch("SELECT id FROM orders WHERE customer_id = $1", 7)
    except asyncpg.exceptions.InsufficientPrivilegeError as e:
        print(f"token refused: {asyncpg_refusal(e)}")
    async with conn.transaction(readonly=True):
        print(f"token read-only: {await conn.fetchval('SELECT count(*) FROM customers WHERE id = $1', 42)}")
    await conn.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(*urls()))
