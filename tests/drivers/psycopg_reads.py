"""Reads through driver features, as the `analytics` agent
(tests/driver_reads.rs): psycopg 3 named cursors, COPY … TO STDOUT,
EXPLAIN, SQL PREPARE/EXECUTE, and SQLAlchemy's stream_results.

Usage: python3 psycopg_reads.py URL

Prints one line per step; the test compares the output exactly. Any
unexpected exception ends the script with a traceback and a non-zero
status.
"""

import sys

import psycopg
import sqlalchemy


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


def psycopg_reads(url):
    with psycopg.connect(url, connect_timeout=10) as conn:
        # A named (server-side) cursor iterated in a transaction: DECLARE,
        # then FETCH in batches of itersize, then CLOSE.
        with conn.cursor(name="c") as cur:
            cur.itersize = 7
            cur.execute(
                "SELECT id, status FROM orders WHERE id <= %s ORDER BY id", [20]
            )
            ids = [row[0] for row in cur]
            print(f"named cursor: {len(ids)} rows, first {ids[0]}, last {ids[-1]}")
        print(f"transaction: {conn.info.transaction_status.name}")
        conn.commit()

        # fetchmany/fetchone on a named cursor, and one WITH HOLD past commit.
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT count(*) FROM order_items")
            conn.commit()
            print(f"with hold after commit: {cur.fetchone()[0]}")
        conn.commit()

        # A named cursor over a denied column is refused as the query is.
        try:
            with conn.cursor(name="bad") as cur:
                cur.execute("SELECT email FROM customers")
                cur.fetchall()
            print("named cursor over email: allowed?!")
        except psycopg.Error as e:
            print(f"named cursor over email: {e.sqlstate} {reason(e.diag.message_detail)}")
        conn.rollback()

        # COPY … TO STDOUT of a query and of a table's columns.
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id FROM orders ORDER BY id) TO STDOUT") as copy:
                rows = [row for row in copy.rows()]
            print(f"copy query: {len(rows)} rows, first {rows[0][0]}")
            with cur.copy("COPY products (sku) TO STDOUT WITH (FORMAT csv)") as copy:
                data = b"".join(bytes(block) for block in copy)
            print(f"copy table: {len(data.splitlines())} lines")
        conn.commit()

        try:
            with conn.cursor() as cur:
                with cur.copy("COPY (SELECT * FROM payment_methods) TO STDOUT") as copy:
                    for _ in copy:
                        pass
            print("copy payment_methods: allowed?!")
        except psycopg.Error as e:
            print(f"copy payment_methods: {e.sqlstate} {reason(e.diag.message_detail)}")
        conn.rollback()

        # EXPLAIN, plain and with options.
        with conn.cursor() as cur:
            cur.execute("EXPLAIN SELECT id FROM orders WHERE id = 1")
            print(f"explain: {'on orders' in cur.fetchone()[0]}")
            cur.execute(
                "EXPLAIN (FORMAT JSON, COSTS off) SELECT status, count(*) FROM orders GROUP BY status"
            )
            plan = cur.fetchone()[0]
            print(f"explain json: {type(plan).__name__} {'Plan' in plan[0]}")
        conn.commit()

        try:
            with conn.cursor() as cur:
                cur.execute("EXPLAIN ANALYZE SELECT id FROM orders")
            print("explain analyze: allowed?!")
        except psycopg.Error as e:
            print(f"explain analyze: {e.sqlstate} {reason(e.diag.message_detail)}")
        conn.rollback()

        # SQL PREPARE / EXECUTE / DEALLOCATE.
        with conn.cursor() as cur:
            cur.execute("PREPARE by_status (text) AS SELECT count(*) FROM orders WHERE status = $1")
            cur.execute("EXECUTE by_status ('paid')")
            print(f"execute: {cur.fetchone()[0]}")
            cur.execute("DEALLOCATE by_status")
        conn.commit()

        try:
            with conn.cursor() as cur:
                cur.execute("PREPARE gone AS DELETE FROM orders WHERE id = 1")
            print("prepare delete: allowed?!")
        except psycopg.Error as e:
            print(f"prepare delete: {e.sqlstate} {reason(e.diag.message_detail)}")
        conn.rollback()

        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM orders")
            print(f"still usable: {cur.fetchone()[0]}")


def sqlalchemy_stream(url):
    engine = sqlalchemy.create_engine(
        url.replace("postgres://", "postgresql+psycopg://", 1),
        connect_args={"connect_timeout": 10},
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=10).execute(
            sqlalchemy.text("SELECT id FROM orders ORDER BY id")
        )
        n = 0
        for partition in result.partitions(25):
            n += len(partition)
        print(f"sqlalchemy stream_results: {n} rows")
        total = conn.execute(sqlalchemy.text("SELECT count(*) FROM products")).scalar()
        print(f"sqlalchemy after stream: {total}")
    engine.dispose()


def main(url):
    psycopg_reads(url)
    sqlalchemy_stream(url)
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1])
