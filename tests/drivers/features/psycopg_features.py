"""psycopg 3 features (issue 12 items 2, 3, 8, 9 and 11).

Usage: python3 psycopg_features.py ANALYTICS_URL SUPPORT_BOT_URL
(with tests/drivers on PYTHONPATH)
"""

import psycopg

from clientmatrix import psycopg_refusal, urls


def main(analytics, support_bot):
    with psycopg.connect(analytics, connect_timeout=10) as conn:
        # Item 8: named (server-side) cursors: DECLARE … CURSOR FOR, FETCH FORWARD n.
        with conn.cursor(name="delivered") as cur:
            cur.itersize = 32
            cur.execute("SELECT id FROM orders WHERE status = %s ORDER BY id", ["delivered"])
            print(f"named cursor: {sum(1 for _ in cur)} rows")
        conn.commit()
        # Items 3 and 8: scroll() is MOVE.
        with conn.cursor(name="scrolling", scrollable=True) as cur:
            cur.execute("SELECT id FROM orders ORDER BY id")
            cur.scroll(10)
            first = cur.fetchone()[0]
            cur.scroll(0, mode="absolute")
            print(f"scroll: {first} {cur.fetchone()[0]}")
        conn.commit()
        try:
            with conn.cursor(name="emails") as cur:
                cur.execute("SELECT email FROM customers")
                cur.fetchall()
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"named cursor refused: {psycopg_refusal(e)}")
        conn.rollback()
        # Item 8: COPY (query) TO STDOUT.
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, status FROM orders WHERE id <= %s ORDER BY id) TO STDOUT", [3]) as copy:
                rows = [tuple(r) for r in copy.rows()]
        conn.commit()
        print(f"copy to: {rows}")
        # Item 8: EXPLAIN.
        plan = conn.execute("EXPLAIN SELECT count(*) FROM orders WHERE status = %s", ["paid"]).fetchone()[0]
        print(f"explain: {plan.split()[0]}")
        conn.commit()
        # Item 2: deferrable read-only serializable transactions.
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        conn.read_only = True
        conn.deferrable = True
        print(f"deferrable: {conn.execute('SHOW transaction_deferrable').fetchone()[0]}")
        conn.commit()

    with psycopg.connect(support_bot, connect_timeout=10) as conn:
        # Item 11: psycopg's usual `= ANY(%s)` with a list, as a scope.
        n = conn.execute("SELECT count(*) FROM orders WHERE customer_id = ANY(%s)", [[42]]).fetchone()[0]
        print(f"token any: {n}")
        try:
            conn.execute("SELECT count(*) FROM orders WHERE customer_id = ANY(%s)", [[42, 7]])
        except psycopg.errors.InsufficientPrivilege as e:
            print(f"token any refused: {psycopg_refusal(e)}")
        conn.rollback()
        # Item 9: a capped, parameterised write in psycopg's implicit transaction.
        cur = conn.execute(
            "UPDATE orders SET notes = %s WHERE customer_id = %s AND id = %s",
            ["called the customer", 42, 24],
        )
        print(f"token write in transaction: {cur.rowcount}")
        conn.rollback()
    print("closed")


if __name__ == "__main__":
    main(*urls())
