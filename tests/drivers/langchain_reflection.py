"""Table reflection through actgate as the `analytics` agent
(tests/drivers.rs): LangChain's `SQLDatabase.from_uri` with a plain
`postgresql://` URL (SQLAlchemy 2.1's default driver, psycopg 3),
`MetaData.reflect`, `Table(autoload_with=)` and `pandas.read_sql_table`,
on psycopg 3 and on asyncpg. Their reflection binds the name of a setting,
`current_setting($1::VARCHAR)`, which actgate judges at Bind.

Usage: python3 langchain_reflection.py URL

Prints one line per step; tests/drivers.rs compares the output exactly.
"""

import asyncio
import sys
import warnings

import pandas
from sqlalchemy import MetaData, Table, create_engine
from sqlalchemy.ext.asyncio import create_async_engine

# langchain-community warns that it is being sunset when imported.
warnings.filterwarnings("ignore", category=DeprecationWarning)
from langchain_community.utilities import SQLDatabase  # noqa: E402

TABLES = ["orders", "products"]


def with_langchain(url):
    db = SQLDatabase.from_uri(url, include_tables=TABLES, sample_rows_in_table_info=0)
    print(f"langchain dialect: {db.dialect} {db._engine.dialect.driver}")
    print("langchain tables: " + " ".join(db.get_usable_table_names()))
    info = db.get_table_info(["orders"])
    print(f"langchain table info: {'CREATE TABLE orders' in info} {'customer_id BIGINT' in info}")
    print(f"langchain run: {db.run('SELECT count(*) FROM orders')}")
    db._engine.dispose()


def with_sqlalchemy(url):
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=TABLES)
        print("reflected: " + " ".join(sorted(meta.tables)))
        orders = Table("orders", MetaData(), autoload_with=engine)
        print(f"autoloaded: {len(orders.columns)} columns, key {[c.name for c in orders.primary_key]}")
        frame = pandas.read_sql_table("products", engine)
        print(f"read_sql_table: {len(frame)} rows {len(frame.columns)} columns")
    finally:
        engine.dispose()


async def with_asyncpg(url):
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as conn:
            meta = MetaData()
            await conn.run_sync(lambda sync: meta.reflect(sync, only=TABLES))
            print("asyncpg reflected: " + " ".join(sorted(meta.tables)))
            orders = await conn.run_sync(
                lambda sync: Table("orders", MetaData(), autoload_with=sync)
            )
            print(f"asyncpg autoloaded: {len(orders.columns)} columns")
    finally:
        await engine.dispose()


def main(url):
    url = url.replace("postgres://", "postgresql://", 1)
    with_langchain(url)
    with_sqlalchemy(url)
    asyncio.run(with_asyncpg(url))
    print("closed")


if __name__ == "__main__":
    main(sys.argv[1])
