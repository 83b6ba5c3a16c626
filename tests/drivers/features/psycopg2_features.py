"""psycopg2 features (issue 12 items 2, 3 and 8).

Usage: python3 psycopg2_features.py ANALYTICS_URL SUPPORT_BOT_URL
(run from tests/drivers, or with tests/drivers on PYTHONPATH)
"""

import io

import psycopg2
import psycopg2.errors

from clientmatrix import psycopg_refusal, urls


def main(analytics, _support_bot):
    conn = psycopg2.connect(analytics, connect_timeout=10)

    # Item 8: a named cursor is DECLARE … CURSOR FOR, then FETCH FORWARD n.
    with conn.cursor(name="orders_by_id") as cur:
        cur.itersize = 64
        cur.execute("SELECT id FROM orders WHERE status = %s ORDER BY id", ["delivered"])
        print(f"named cursor: {sum(1 for _ in cur)} rows")
    conn.commit()
    # Items 3 and 8: a scrollable one moves with MOVE.
    with conn.cursor(name="scrolling", scrollable=True) as cur:
        cur.execute("SELECT id FROM orders ORDER BY id")
        cur.scroll(10)
        first = cur.fetchone()[0]
        cur.scroll(-5)
        back = cur.fetchone()[0]
        cur.scroll(0, mode="absolute")
        print(f"scroll: {first} {back} {cur.fetchone()[0]}")
    conn.commit()
    # Still judged by the query inside: a denied column stays denied.
    try:
        with conn.cursor(name="emails") as cur:
            cur.execute("SELECT email FROM customers")
            cur.fetchall()
    except psycopg2.errors.InsufficientPrivilege as e:
        print(f"named cursor refused: {psycopg_refusal(e)}")
    conn.rollback()

    # Item 8: COPY (query) TO STDOUT.
    out = io.StringIO()
    with conn.cursor() as cur:
        cur.copy_expert(
            "COPY (SELECT id, status FROM orders WHERE id <= 3 ORDER BY id) TO STDOUT WITH (FORMAT csv)",
            out,
        )
    conn.commit()
    print(f"copy to: {out.getvalue().split()}")

    # Item 8: SQL PREPARE / EXECUTE, and EXPLAIN.
    with conn.cursor() as cur:
        cur.execute("PREPARE by_status (text) AS SELECT count(*) FROM orders WHERE status = $1")
        counts = []
        for s in ("paid", "shipped", "paid", "shipped", "paid", "shipped"):
            cur.execute("EXECUTE by_status (%s)", [s])
            counts.append(cur.fetchone()[0])
        cur.execute("DEALLOCATE by_status")
        print(f"prepare/execute: {counts}")
        cur.execute("EXPLAIN SELECT count(*) FROM orders WHERE status = %s", ["paid"])
        print(f"explain: {cur.fetchone()[0].split()[0]}")
    conn.commit()

    # Item 2: read only, deferrable, serializable: BEGIN … DEFERRABLE.
    conn.set_session(isolation_level="SERIALIZABLE", readonly=True, deferrable=True)
    with conn.cursor() as cur:
        cur.execute("SHOW transaction_deferrable")
        print(f"deferrable: {cur.fetchone()[0]}")
    conn.commit()
    conn.set_session(isolation_level="DEFAULT", readonly=False, deferrable=False)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM products")
        print(f"after: {cur.fetchone()[0]}")
    conn.commit()
    conn.close()
    print("closed")


if __name__ == "__main__":
    main(*urls())
