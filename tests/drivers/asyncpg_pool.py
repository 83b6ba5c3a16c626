"""An asyncpg pool through actgate as the `analytics` agent (tests/drivers.rs).

Usage: python3 asyncpg_pool.py URL

Applications use asyncpg through a pool. When a connection goes back to
the pool, asyncpg resets it with its default reset query, one simple-query
message:

    SELECT pg_advisory_unlock_all();
    CLOSE ALL;
    UNLISTEN *;
    RESET ALL;

If that fails, asyncpg terminates the connection and the error surfaces
from `release()` (the end of `async with pool.acquire()`). Prints one line
per step; tests/drivers.rs compares the output exactly.
"""

import asyncio
import sys

import asyncpg


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


async def main(url):
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=10)
    try:
        async with pool.acquire() as conn:
            first_pid = conn.get_server_pid()
            print(f"acquired: {await conn.fetchval('SELECT count(*) FROM orders')}")
        print(f"released: pool size {pool.get_size()}, idle {pool.get_idle_size()}")

        # The connection comes back from the pool, still usable.
        async with pool.acquire() as conn:
            same = conn.get_server_pid() == first_pid
            paid = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE status = $1", "paid"
            )
            print(f"reused: {same} {paid}")
            try:
                await conn.fetch("SELECT password_hash FROM staff_users")
                print("denied: NOT DENIED")
            except asyncpg.exceptions.InsufficientPrivilegeError as e:
                print(f"denied: {e.sqlstate} {reason(e.detail)}")
        print(f"released after denial: idle {pool.get_idle_size()}")

        counts = await asyncio.gather(
            *(
                pool.fetchval("SELECT count(*) FROM orders WHERE status = $1", s)
                for s in ("pending", "shipped", "delivered")
            )
        )
        print(f"concurrent: {counts}")
        async with pool.acquire() as conn:
            async with conn.transaction():
                n = await conn.fetchval("SELECT count(*) FROM products")
        print(f"transaction: {n}")
    finally:
        await pool.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
