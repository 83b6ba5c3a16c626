"""An asyncpg pool through actgate as the token agent `support-bot`,
acting for customer 42 (tests/drivers.rs).

Usage: python3 asyncpg_token_pool.py URL

asyncpg resets a connection on release with one simple-query message,
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`; if
actgate refused it, release() would fail and the connection would be
terminated. Checks that the reset undoes what a checkout changed and
leaves actgate's pinned settings alone. Prints one line per step;
tests/drivers.rs compares the output exactly.
"""

import asyncio
import sys

import asyncpg


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


async def main(url):
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1, timeout=10)
    try:
        async with pool.acquire() as conn:
            first_pid = conn.get_server_pid()
            await conn.execute("SET statement_timeout = 4321")
            n = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE customer_id = $1", 42
            )
            print(f"acquired: {n} {await conn.fetchval('SHOW statement_timeout')}")
        print(f"released: idle {pool.get_idle_size()}")

        async with pool.acquire() as conn:
            same = conn.get_server_pid() == first_pid
            shown = [
                await conn.fetchval(f"SHOW {name}")
                for name in (
                    "statement_timeout",
                    "search_path",
                    "client_encoding",
                    "standard_conforming_strings",
                    "default_transaction_read_only",
                )
            ]
            print(f"reused: {same} {' '.join(shown)}")
            async with conn.transaction(readonly=True):
                ro = await conn.fetchval("SHOW transaction_read_only")
            print(f"read-only transaction: {ro}")
            try:
                await conn.fetch("SELECT id FROM orders WHERE customer_id = $1", 7)
                print("denied: NOT DENIED")
            except asyncpg.exceptions.InsufficientPrivilegeError as e:
                print(f"denied: {e.sqlstate} {reason(e.detail)}")
        print(f"released after denial: idle {pool.get_idle_size()}")

        async with pool.acquire() as conn:
            print(f"reused again: {conn.get_server_pid() == first_pid}")
    finally:
        await pool.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
