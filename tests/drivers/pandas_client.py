"""pandas read_sql / read_sql_query / read_sql_table through actgate
(tests/python_clients.rs), on SQLAlchemy engines.

Usage: python3 pandas_client.py ANALYTICS_URL SUPPORT_BOT_URL

read_sql_table reflects the table first: on psycopg2 here; on psycopg 3
it waits on item 1 (tests/drivers/pending/).
"""

import warnings

import pandas as pd
import sqlalchemy as sa

from clientmatrix import psycopg_refusal, urls, with_driver

warnings.simplefilter("ignore")


def main(analytics, support_bot):
    print(f"pandas: {pd.__version__.split('.')[0].isdigit()}")
    for driver in ("psycopg2", "psycopg"):
        engine = sa.create_engine(with_driver(analytics, driver))
        try:
            df = pd.read_sql("SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status", engine)
            print(f"{driver} read_sql: {df.shape} {dict(zip(df.status, df.n))['paid']}")
            df = pd.read_sql_query(
                sa.text("SELECT id, total_cents, created_at FROM orders WHERE status = :s ORDER BY id"),
                engine, params={"s": "delivered"}, parse_dates=["created_at"],
            )
            print(f"{driver} read_sql_query: {df.shape} {df.dtypes['created_at'].kind}")
            chunks = [len(c) for c in pd.read_sql(sa.text("SELECT id FROM orders ORDER BY id"), engine, chunksize=64)]
            print(f"{driver} chunks: {chunks}")
            try:
                pd.read_sql("SELECT email FROM customers", engine)
            except pd.errors.DatabaseError as e:
                # pandas wraps SQLAlchemy's error, which wraps the driver's.
                orig = e.__cause__.orig
                print(f"{driver} refused: {type(orig).__name__} {psycopg_refusal(orig)}")
            df = pd.read_sql(sa.text("SELECT country, count(*) AS n FROM customers GROUP BY country"), engine)
            print(f"{driver} after: {int(df.n.sum())}")
        finally:
            engine.dispose()
    engine = sa.create_engine(with_driver(analytics, "psycopg2"))
    try:
        df = pd.read_sql_table("orders", engine, columns=["id", "status", "total_cents"])
        print(f"psycopg2 read_sql_table: {df.shape} {list(df.columns)}")
        df = pd.read_sql_table("products", engine)
        print(f"psycopg2 read_sql_table all columns: {df.shape}")
    finally:
        engine.dispose()
    engine = sa.create_engine(with_driver(support_bot, "psycopg2"))
    try:
        df = pd.read_sql(sa.text("SELECT id, status FROM orders WHERE customer_id = :c"), engine, params={"c": 42})
        print(f"token read_sql: {df.shape}")
    finally:
        engine.dispose()
    print("closed")


if __name__ == "__main__":
    main(*urls())
