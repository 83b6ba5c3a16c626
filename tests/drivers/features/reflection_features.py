"""SQLAlchemy reflection on psycopg 3 and asyncpg and what is built on it
(pandas read_sql_table, LangChain's default URI), and stream_results on
psycopg 2/3 (issue 12 items 1 and 8).

Usage: python3 reflection_features.py ANALYTICS_URL SUPPORT_BOT_URL
(with tests/drivers on PYTHONPATH)
"""

import asyncio
import warnings

warnings.simplefilter("ignore")

import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from langchain_community.utilities import SQLDatabase  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from clientmatrix import urls, with_driver  # noqa: E402


def main(analytics, _support_bot):
    # Item 1: reflection sends `current_setting($1::VARCHAR)` on psycopg 3.
    engine = sa.create_engine(with_driver(analytics, "psycopg"))
    meta = sa.MetaData()
    meta.reflect(engine, only=["orders", "order_items", "products"])
    orders = sa.Table("orders", sa.MetaData(), autoload_with=engine)
    print(f"psycopg reflect: {sorted(meta.tables)} autoload={len(orders.c)}")
    df = pd.read_sql_table("orders", engine, columns=["id", "status"])
    print(f"psycopg read_sql_table: {df.shape}")
    # Item 8: stream_results is a named cursor on psycopg 2 and 3.
    for driver in ("psycopg2", "psycopg"):
        e = engine if driver == "psycopg" else sa.create_engine(with_driver(analytics, driver))
        with e.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=32).execute(
                sa.text("SELECT id FROM orders WHERE status = :s"), {"s": "delivered"})
            print(f"{driver} stream_results: {sum(1 for _ in result)}")
        e.dispose()

    async def asyncpg_reflect():
        e = create_async_engine(with_driver(analytics, "asyncpg"))
        async with e.connect() as conn:
            m = sa.MetaData()
            await conn.run_sync(lambda c: m.reflect(c, only=["orders", "products"]))
        await e.dispose()
        return sorted(m.tables)

    print(f"asyncpg reflect: {asyncio.run(asyncpg_reflect())}")

    # Item 1: LangChain with its default URI (postgresql://, psycopg 3 on SQLAlchemy 2.1).
    db = SQLDatabase.from_uri(with_driver(analytics, None))
    print(f"langchain default: {db._engine.dialect.driver} {len(db.get_usable_table_names())} tables")
    print(f"langchain info: {db.get_table_info(['orders']).count('CREATE TABLE')}")
    print(f"langchain run: {db.run('SELECT count(*) FROM orders')}")
    print("closed")


if __name__ == "__main__":
    main(*urls())
