"""psycopg 3's transaction characteristics and named-cursor scrolling
through actgate (tests/transaction_modes.rs, issue 12 items 2, 3, 6).

Usage: python3 txmodes_psycopg.py URL CURSOR_URL

With `isolation_level`, `read_only` and `set_deferrable()` psycopg starts
each transaction with `BEGIN ISOLATION LEVEL … READ ONLY DEFERRABLE`. A
named cursor is `DECLARE … CURSOR FOR …`, `FETCH FORWARD n FROM …`,
`MOVE [ABSOLUTE] n FROM …` (`scroll()`) and `CLOSE`; it runs as the agent
of CURSOR_URL. Prints one line per step; the test compares the output
exactly.
"""

import sys

import psycopg


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


def modes(conn):
    return tuple(
        conn.execute(f"SHOW {name}").fetchone()[0]
        for name in ("transaction_isolation", "transaction_read_only", "transaction_deferrable")
    )


def main(url, cursor_url):
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        conn.read_only = True
        conn.set_deferrable(True)
        with conn.transaction():
            print("serializable read-only deferrable: %s %s %s" % modes(conn))
            print(f"orders: {conn.execute('SELECT count(*) FROM orders').fetchone()[0]}")

        # And back: READ WRITE, NOT DEFERRABLE are per transaction.
        conn.read_only = False
        conn.set_deferrable(False)
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        with conn.transaction():
            print("read-write not deferrable: %s %s %s" % modes(conn))
        conn.read_only = None
        conn.set_deferrable(None)
        conn.isolation_level = None
        with conn.transaction():
            print("defaults: %s %s %s" % modes(conn))

        conn.autocommit = True
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        print(f"session read-only: {conn.execute('SHOW default_transaction_read_only').fetchone()[0]}")
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE, DEFERRABLE")
        print(f"read-write again: {conn.execute('SHOW default_transaction_read_only').fetchone()[0]}")
        conn.execute("SET default_transaction_read_only TO DEFAULT")
        print(f"after default: {conn.execute('SHOW default_transaction_read_only').fetchone()[0]}")

    with psycopg.connect(cursor_url, connect_timeout=10) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM orders ORDER BY id")]
        with conn.cursor("orders_cursor", scrollable=True) as cur:
            cur.execute("SELECT id FROM orders ORDER BY id")
            cur.scroll(5)
            print(f"scroll 5: {cur.fetchone()[0] == ids[5]}")
            cur.scroll(-3)
            print(f"scroll -3: {cur.fetchone()[0] == ids[3]}")
            cur.scroll(0, mode="absolute")
            print(f"absolute 0: {cur.fetchone()[0] == ids[0]}")
            # FETCH without a direction, and other directions, by hand.
            nxt = conn.execute("FETCH orders_cursor").fetchone()[0]
            last = conn.execute("FETCH LAST FROM orders_cursor").fetchone()[0]
            prior = conn.execute("FETCH PRIOR IN orders_cursor").fetchone()[0]
            print(f"fetch: {nxt == ids[1]} {last == ids[-1]} {prior == ids[-2]}")
            conn.execute("MOVE BACKWARD ALL IN orders_cursor")
            print(f"rest: {len(cur.fetchall()) == len(ids)}")
        conn.commit()
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
