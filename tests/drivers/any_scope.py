"""`customer_id = ANY(<array parameter>)` through actgate as the token
agent `order-assistant`, acting for customer 42 (tests/drivers.rs): the
usual way psycopg 3 and asyncpg pass a list. actgate checks at each Bind
that every element of the array is the customer in the token.

Usage: python3 any_scope.py URL

Prints one line per step; tests/drivers.rs compares the output exactly.
"""

import asyncio
import sys

import asyncpg
import psycopg

QUERY = "SELECT count(*) FROM orders WHERE customer_id = ANY(%s)"


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


def with_psycopg(url):
    with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(QUERY, ([42],))
            print(f"psycopg list: {cur.fetchone()[0]}")
            cur.execute(QUERY, ([42, 42],))
            print(f"psycopg repeated: {cur.fetchone()[0]}")
            cur.execute(QUERY, ([],))
            print(f"psycopg empty: {cur.fetchone()[0]}")
            cur.execute(QUERY, ([42, None],))
            print(f"psycopg with NULL: {cur.fetchone()[0]}")
            # Binary parameters: the array travels in array_send's format.
            cur.execute(QUERY, ([42],), binary=True)
            print(f"psycopg binary: {cur.fetchone()[0]}")
            cur.execute(
                "SELECT count(*) FROM orders WHERE customer_id = ANY(ARRAY[%s, %s])",
                (42, 42),
            )
            print(f"psycopg ARRAY[]: {cur.fetchone()[0]}")
            for params, binary in ((([42, 43],), False), (([43],), True)):
                try:
                    cur.execute(QUERY, params, binary=binary)
                    print("psycopg denied: NOT DENIED")
                except psycopg.errors.InsufficientPrivilege as e:
                    print(f"psycopg denied: {e.sqlstate} {reason(e.diag.message_detail)}")
            # The same statement, prepared on the server: checked at every Bind.
            for ids in ([42], [7], [42]):
                try:
                    cur.execute(QUERY, (ids,), prepare=True)
                    print(f"psycopg prepared {ids}: {cur.fetchone()[0]}")
                except psycopg.errors.InsufficientPrivilege as e:
                    print(f"psycopg prepared {ids}: {reason(e.diag.message_detail)}")


async def with_asyncpg(url):
    conn = await asyncpg.connect(url, timeout=10)
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE customer_id = ANY($1::int[])", [42]
        )
        print(f"asyncpg int[]: {n}")
        n = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE customer_id = ANY($1)", [42, 42]
        )
        print(f"asyncpg bigint[]: {n}")
        n = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE customer_id = ANY($1)", []
        )
        print(f"asyncpg empty: {n}")
        try:
            await conn.fetchval(
                "SELECT count(*) FROM orders WHERE customer_id = ANY($1::int[])",
                [42, 43],
            )
            print("asyncpg denied: NOT DENIED")
        except asyncpg.exceptions.InsufficientPrivilegeError as e:
            print(f"asyncpg denied: {e.sqlstate} {reason(e.detail)}")
        n = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE customer_id = ANY($1::int[])", [42]
        )
        print(f"asyncpg after denial: {n}")
    finally:
        await conn.close()


def main(url):
    with_psycopg(url)
    asyncio.run(with_asyncpg(url))
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1])
