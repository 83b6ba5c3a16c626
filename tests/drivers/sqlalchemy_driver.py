"""SQLAlchemy 2 (psycopg 3 dialect) through actgate as the `analytics` agent
(tests/drivers.rs).

Usage: python3 sqlalchemy_driver.py URL

On its first connection the dialect asks the server about itself (version,
current schema, isolation level, standard_conforming_strings); reflection
reads pg_catalog; the pool rolls back every connection it gets back. Prints
one line per step; tests/drivers.rs compares the output exactly. Any
unexpected exception ends the script with a traceback and a non-zero status.
"""

import sys

import psycopg
import sqlalchemy
from sqlalchemy import create_engine, inspect, text


def reason(detail):
    """The `reason: CODE` part of actgate's DETAIL."""
    return (detail or "").split(";")[0]


def main(url):
    url = url.replace("postgres://", "postgresql+psycopg://", 1)
    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            print(f"connected: PostgreSQL {engine.dialect.server_version_info[0] >= 13}")

        # Reflection.
        insp = inspect(engine)
        tables = insp.get_table_names()
        print("tables: " + " ".join(sorted(tables)))
        columns = insp.get_columns("orders")
        print(
            "orders columns: "
            + " ".join(f"{c['name']}:{type(c['type']).__name__}" for c in columns)
        )
        pk = insp.get_pk_constraint("orders")
        print(f"orders primary key: {pk['constrained_columns']}")
        fks = insp.get_foreign_keys("orders")
        print(
            "orders foreign keys: "
            + " ".join(
                f"{fk['constrained_columns']}->{fk['referred_table']}{fk['referred_columns']}"
                for fk in fks
            )
        )
        indexes = insp.get_indexes("orders")
        print("orders indexes: " + " ".join(sorted(i["name"] for i in indexes)))

        # Core text() queries.
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")
            ).all()
            print("aggregate: " + " ".join(f"{s}={n}" for s, n in rows))
            paid = conn.execute(
                text("SELECT count(*) FROM orders WHERE status = :status"),
                {"status": "paid"},
            ).scalar_one()
            print(f"parameterised: {paid}")

            try:
                conn.execute(text("SELECT password_hash FROM staff_users"))
                print("denied: NOT DENIED")
            except sqlalchemy.exc.ProgrammingError as e:
                orig = e.orig
                print(
                    f"denied: {type(e).__name__}/{type(orig).__name__} "
                    f"{orig.sqlstate} {reason(orig.diag.message_detail)}"
                )
            conn.rollback()
            n = conn.execute(text("SELECT count(*) FROM orders")).scalar_one()
            print(f"after denial: {n}")

            # The same statement over and over: psycopg prepares it on the
            # server after five runs (prepare_threshold), and deallocates
            # its prepared statements when the pool rolls the connection
            # back on its return.
            counts = [
                conn.execute(
                    text("SELECT count(*) FROM order_items WHERE quantity = :q"),
                    {"q": q},
                ).scalar_one()
                for q in (1, 2, 3, 1, 2, 3)
            ]
            print(f"repeated: {counts}")
        # Returned to the pool, which rolls it back and keeps it if that
        # worked.
        print(f"pool after return: checked in {engine.pool.checkedin()}")

        # engine.begin(): a transaction committed at the end of the block.
        with engine.begin() as conn:
            n = conn.execute(
                text("SELECT count(*) FROM products WHERE category = :c"),
                {"c": "electronics"},
            ).scalar_one()
            print(f"transaction: {n}")
        print(f"pool after commit: checked in {engine.pool.checkedin()}")
    finally:
        engine.dispose()
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1])
