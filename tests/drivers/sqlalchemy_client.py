"""SQLAlchemy 2 on psycopg2, psycopg 3 and asyncpg through actgate
(tests/python_clients.rs).

Usage: python3 sqlalchemy_client.py ANALYTICS_URL SUPPORT_BOT_URL

For each dialect: first connect (the dialect's own queries), the
inspector, text() with bound parameters, statements repeated past the
driver's prepare threshold, engine.begin(), an error and a refusal and the
pool's rollback on return, asyncpg's server-side streaming, the
`postgresql_readonly` execution option, and a pool for the token agent.
MetaData.reflect on psycopg2 here; on psycopg 3 and asyncpg and
stream_results on psycopg 2/3 wait on items 1 and 8
(tests/drivers/pending/).
"""

import asyncio
import warnings

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from clientmatrix import refusal, urls, with_driver

warnings.simplefilter("ignore")


def describe_refusal(e):
    orig = e.orig
    if hasattr(orig, "diag"):  # psycopg2, psycopg
        code = getattr(orig, "sqlstate", None) or orig.pgcode
        return refusal(code, orig.diag.message_primary, orig.diag.message_detail, orig.diag.message_hint)
    cause = orig.__cause__  # asyncpg, wrapped by the adapter
    return refusal(cause.sqlstate, cause.message, cause.detail, cause.hint)


def inspect_lines(insp):
    tables = insp.get_table_names()
    cols = [f"{c['name']}:{type(c['type']).__name__}" for c in insp.get_columns("orders")]
    pk = insp.get_pk_constraint("orders")["constrained_columns"]
    fks = [f"{fk['constrained_columns']}->{fk['referred_table']}" for fk in insp.get_foreign_keys("order_items")]
    idx = sorted(i["name"] for i in insp.get_indexes("orders"))
    checks = len(insp.get_check_constraints("orders"))
    return (
        f"tables={len(tables)} orders={' '.join(cols[:3])}… pk={pk} fks={sorted(fks)} "
        f"indexes={idx} checks={checks} has_table={insp.has_table('orders')} "
        f"views={insp.get_view_names()} sequences={len(insp.get_sequence_names())}"
    )


def work(conn):
    """The same unit of work on a Connection (sync or run_sync)."""
    rows = conn.execute(sa.text("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status")).all()
    paid = conn.execute(sa.text("SELECT count(*) FROM orders WHERE status = :s"), {"s": "paid"}).scalar_one()
    reps = [
        conn.execute(sa.text("SELECT count(*) FROM order_items WHERE quantity = :q"), {"q": q}).scalar_one()
        for q in (1, 2, 3, 1, 2, 3, 1)
    ]
    return f"statuses={len(rows)} paid={paid} repeated={reps}"


def sync_dialect(driver, analytics, support_bot):
    engine = sa.create_engine(with_driver(analytics, driver), pool_size=2)
    try:
        with engine.connect() as conn:
            print(f"{driver} connected: {engine.dialect.server_version_info[0] >= 13} {engine.dialect.driver}")
            print(f"{driver} work: {work(conn)}")
            try:
                conn.execute(sa.text("SELECT count(*) / 0 FROM orders")).scalar_one()
            except sa.exc.DataError as e:
                print(f"{driver} error: {type(e.orig).__name__}")
            conn.rollback()
            try:
                conn.execute(sa.text("SELECT password_hash FROM staff_users WHERE id = :i"), {"i": 1}).all()
            except sa.exc.ProgrammingError as e:
                print(f"{driver} refused: {describe_refusal(e)}")
            conn.rollback()
            print(f"{driver} still usable: {conn.execute(sa.text('SELECT count(*) FROM products')).scalar_one()}")
        print(f"{driver} inspect: {inspect_lines(sa.inspect(engine))}")
        with engine.begin() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM refunds WHERE amount_cents > :a"), {"a": 0}).scalar_one()
        print(f"{driver} begin: {n > 0} checked in {engine.pool.checkedin()}")
        with engine.connect().execution_options(postgresql_readonly=True) as conn:
            ro = conn.execute(sa.text("SHOW transaction_read_only")).scalar_one()
        with engine.connect() as conn:
            after = conn.execute(sa.text("SHOW transaction_read_only")).scalar_one()
        print(f"{driver} readonly: {ro} then {after}")
    finally:
        engine.dispose()
    token = sa.create_engine(with_driver(support_bot, driver), pool_size=1, max_overflow=0)
    try:
        counts = []
        for _ in range(3):
            with token.connect() as conn:
                counts.append(conn.execute(
                    sa.text("SELECT count(*) FROM orders WHERE customer_id = :c"), {"c": 42}).scalar_one())
        with token.connect() as conn:
            try:
                conn.execute(sa.text("SELECT count(*) FROM orders WHERE customer_id = :c"), {"c": 7}).all()
            except sa.exc.ProgrammingError as e:
                refused = describe_refusal(e)
        with token.connect() as conn:
            after = conn.execute(sa.text("SELECT count(*) FROM customers WHERE id = :c"), {"c": 42}).scalar_one()
        print(f"{driver} token pool: {counts} refused={refused} after={after} checked in {token.pool.checkedin()}")
    finally:
        token.dispose()


def reflect_psycopg2(analytics):
    engine = sa.create_engine(with_driver(analytics, "psycopg2"))
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=["orders", "order_items", "products"])
        orders = sa.Table("orders", sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            n = conn.execute(
                sa.select(sa.func.count()).select_from(orders).where(orders.c.status == "paid")
            ).scalar_one()
        print(f"psycopg2 reflect: {sorted(meta.tables)} autoload={len(orders.c)} core select={n}")
    finally:
        engine.dispose()


async def asyncpg_dialect(analytics, support_bot):
    engine = create_async_engine(with_driver(analytics, "asyncpg"), pool_size=2)
    try:
        async with engine.connect() as conn:
            print(f"asyncpg connected: {engine.dialect.server_version_info[0] >= 13} {engine.dialect.driver}")
            print(f"asyncpg work: {await conn.run_sync(work)}")
            try:
                await conn.execute(sa.text("SELECT count(*) / 0 FROM orders"))
            except sa.exc.DBAPIError as e:
                print(f"asyncpg error: {type(e.orig.__cause__).__name__}")
            await conn.rollback()
            try:
                await conn.execute(sa.text("SELECT password_hash FROM staff_users WHERE id = :i"), {"i": 1})
            except sa.exc.ProgrammingError as e:
                print(f"asyncpg refused: {describe_refusal(e)}")
            await conn.rollback()
            # Server-side streaming: asyncpg reads a portal in chunks.
            result = await conn.stream(sa.text("SELECT id FROM orders WHERE status = :s ORDER BY id"), {"s": "delivered"})
            ids = [row.id async for row in result]
            print(f"asyncpg stream: {len(ids)} first {ids[0]}")
        async with engine.connect() as conn:
            print(f"asyncpg inspect: {await conn.run_sync(lambda c: inspect_lines(sa.inspect(c)))}")
        async with engine.begin() as conn:
            n = (await conn.execute(sa.text("SELECT count(*) FROM refunds WHERE amount_cents > :a"), {"a": 0})).scalar_one()
        print(f"asyncpg begin: {n > 0} checked in {engine.pool.checkedin()}")
        async with engine.connect() as conn:
            conn = await conn.execution_options(postgresql_readonly=True)
            ro = (await conn.execute(sa.text("SHOW transaction_read_only"))).scalar_one()
        print(f"asyncpg readonly: {ro}")
    finally:
        await engine.dispose()
    token = create_async_engine(with_driver(support_bot, "asyncpg"), pool_size=1, max_overflow=0)
    try:
        counts = []
        for _ in range(3):
            async with token.connect() as conn:
                counts.append((await conn.execute(
                    sa.text("SELECT count(*) FROM orders WHERE customer_id = :c"), {"c": 42})).scalar_one())
        async with token.connect() as conn:
            try:
                await conn.execute(sa.text("SELECT count(*) FROM orders WHERE customer_id = :c"), {"c": 7})
            except sa.exc.ProgrammingError as e:
                refused = describe_refusal(e)
        print(f"asyncpg token pool: {counts} refused={refused} checked in {token.pool.checkedin()}")
    finally:
        await token.dispose()


def main(analytics, support_bot):
    print(f"sqlalchemy: {sa.__version__.split('.')[0]}")
    for driver in ("psycopg2", "psycopg"):
        sync_dialect(driver, analytics, support_bot)
    reflect_psycopg2(analytics)
    asyncio.run(asyncpg_dialect(analytics, support_bot))
    print("closed")


if __name__ == "__main__":
    main(*urls())
