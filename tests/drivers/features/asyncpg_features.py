"""asyncpg features (issue 12 items 2, 3, 8, 9 and 11).

Usage: python3 asyncpg_features.py ANALYTICS_URL SUPPORT_BOT_URL
(with tests/drivers on PYTHONPATH)
"""

import asyncio
import io

import asyncpg

from clientmatrix import asyncpg_refusal, urls


async def main(analytics, support_bot):
    conn = await asyncpg.connect(analytics, timeout=10)
    # Item 3: Cursor.forward() is MOVE FORWARD n on the portal.
    async with conn.transaction():
        cur = await conn.cursor("SELECT id FROM orders ORDER BY id")
        skipped = await cur.forward(10)
        print(f"cursor forward: {skipped} then {[r['id'] for r in await cur.fetch(2)]}")
    # Item 8: copy_from_query is COPY (query) TO STDOUT.
    out = io.BytesIO()
    await conn.copy_from_query("SELECT id, status FROM orders WHERE id <= $1 ORDER BY id", 3, output=out)
    print(f"copy_from_query: {out.getvalue().decode().split()}")
    try:
        await conn.copy_from_query("SELECT email FROM customers", output=io.BytesIO())
    except asyncpg.exceptions.InsufficientPrivilegeError as e:
        print(f"copy refused: {asyncpg_refusal(e)}")
    # Item 8: EXPLAIN.
    print(f"explain: {(await conn.fetchval('EXPLAIN SELECT count(*) FROM orders')).split()[0]}")
    # Item 2: deferrable transactions.
    async with conn.transaction(isolation="serializable", readonly=True, deferrable=True):
        print(f"deferrable: {await conn.fetchval('SHOW transaction_deferrable')}")
    await conn.close()

    conn = await asyncpg.connect(support_bot, timeout=10)
    # Item 11: = ANY($1) with an array parameter, as a scope.
    print(f"token any: {await conn.fetchval('SELECT count(*) FROM orders WHERE customer_id = ANY($1::bigint[])', [42])}")
    # Item 9: a capped, parameterised write inside a transaction.
    tr = conn.transaction()
    await tr.start()
    status = await conn.execute("UPDATE orders SET notes = $1 WHERE customer_id = $2 AND id = $3", "called", 42, 24)
    await tr.rollback()
    print(f"token write in transaction: {status}")
    await conn.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(*urls()))
