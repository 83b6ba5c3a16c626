"""asyncpg's transaction modes and cursor movement through actgate as the
`analytics` agent (tests/transaction_modes.rs, issue 12 items 2, 3, 6).

Usage: python3 txmodes_asyncpg.py URL

`conn.transaction(isolation=..., readonly=True, deferrable=True)` sends
`BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE;`; when that
fails, asyncpg leaves its transaction state dirty. `Cursor.forward(n)`
sends `MOVE FORWARD n <portal>` on the cursor's protocol portal. Prints one
line per step; the test compares the output exactly.
"""

import asyncio
import sys

import asyncpg


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


async def modes(conn):
    return tuple(
        [
            await conn.fetchval("SHOW transaction_isolation"),
            await conn.fetchval("SHOW transaction_read_only"),
            await conn.fetchval("SHOW transaction_deferrable"),
        ]
    )


async def main(url):
    conn = await asyncpg.connect(url, timeout=10)
    try:
        tx = conn.transaction(isolation="serializable", readonly=True, deferrable=True)
        async with tx:
            print("serializable read-only deferrable: %s %s %s" % await modes(conn))
            await conn.execute("SET CONSTRAINTS ALL DEFERRED")
            print(f"in transaction: {conn.is_in_transaction()}")
        print(f"after commit: {conn.is_in_transaction()}")

        async with conn.transaction(isolation="repeatable_read"):
            await conn.execute("SET TRANSACTION READ ONLY, DEFERRABLE")
            print("set transaction: %s %s %s" % await modes(conn))

        async with conn.transaction():
            print("default transaction: %s %s %s" % await modes(conn))

        ids = [r["id"] for r in await conn.fetch("SELECT id FROM orders ORDER BY id")]
        async with conn.transaction():
            cur = await conn.cursor("SELECT id FROM orders ORDER BY id")
            moved = await cur.forward(5)
            row = await cur.fetchrow()
            print(f"cursor forward: moved {moved}, then id is the 6th: {row['id'] == ids[5]}")
            moved = await cur.forward(10_000)
            print(f"forward past the end: moved {moved}, then {await cur.fetchrow()}")

        # Narrowing the session passes; back to read-write passes too, as
        # the session started read-write (only a return to its start value).
        await conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE")
        ro = await conn.fetchval("SHOW default_transaction_read_only")
        d = await conn.fetchval("SHOW default_transaction_deferrable")
        print(f"session read-only deferrable: {ro} {d}")
        await conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        print(f"read-write again: {await conn.fetchval('SHOW default_transaction_read_only')}")
        await conn.execute("RESET default_transaction_read_only")
        print(f"after reset: {await conn.fetchval('SHOW default_transaction_read_only')}")
        print(f"still usable: {await conn.fetchval('SELECT count(*) FROM orders')}")
    finally:
        await conn.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
