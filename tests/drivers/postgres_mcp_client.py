"""postgres-mcp's SQL driver and tools through actgate, as a library
(tests/python_clients.rs): the functions its MCP server exposes as tools
(list_schemas, list_objects, get_object_details, execute_sql), in its
unrestricted and restricted (read-only transactions, pglast-checked) access
modes, on its psycopg 3 async pool. explain_query waits on item 8
(tests/drivers/pending/).

Usage: python3 postgres_mcp_client.py ANALYTICS_URL SUPPORT_BOT_URL

postgres-mcp declares Python >= 3.12 only for `typing.override`, used in its
index advisor; on 3.11 typing_extensions provides it.
"""

import asyncio
import ast
import logging
import typing

import typing_extensions

if not hasattr(typing, "override"):
    typing.override = typing_extensions.override

from postgres_mcp import server  # noqa: E402

from clientmatrix import urls  # noqa: E402


def text(result):
    """A tool's answer: one TextContent."""
    assert len(result) == 1, result
    return result[0].text


def value(result):
    """A tool's answer as the Python value it printed."""
    return ast.literal_eval(text(result))


async def tools(mode, url):
    server.current_access_mode = mode
    await server.db_connection.pool_connect(url)
    try:
        m = mode.value
        schemas = [s["schema_name"] for s in value(await server.list_schemas())]
        print(f"{m} list_schemas: {schemas}")
        tables = [o["name"] for o in value(await server.list_objects("public", "table"))]
        print(f"{m} list_objects: {tables}")
        seqs = value(await server.list_objects("public", "sequence"))
        print(f"{m} sequences: {len(seqs)}")
        details = value(await server.get_object_details("public", "orders", "table"))
        print(
            f"{m} get_object_details: columns={len(details['columns'])} "
            f"constraints={sorted(c['name'] for c in details['constraints'] if not c['name'][0].isdigit())} "
            f"indexes={sorted(i['name'] for i in details['indexes'])}"
        )
        rows = value(await server.execute_sql("SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"))
        print(f"{m} execute_sql: {[(r['status'], r['n']) for r in rows]}")
        out = text(await server.execute_sql("SELECT password_hash FROM staff_users"))
        print(
            f"{m} refused: {out.startswith('Error: actgate denied access to table public.staff_users')} "
            f"{'DETAIL:  reason: table_denied' in out} {'HINT:' in out}"
        )
        rows = value(await server.execute_sql("SELECT count(*) AS n FROM products WHERE active"))
        print(f"{m} after: {rows}")
    finally:
        await server.db_connection.close()


async def main(analytics, support_bot):
    logging.disable(logging.CRITICAL)  # it logs every failed query
    await tools(server.AccessMode.UNRESTRICTED, analytics)
    await tools(server.AccessMode.RESTRICTED, analytics)
    # The token agent on the same pool and driver.
    server.current_access_mode = server.AccessMode.RESTRICTED
    await server.db_connection.pool_connect(support_bot)
    try:
        rows = value(await server.execute_sql("SELECT count(*) AS n FROM orders WHERE customer_id = 42"))
        out = text(await server.execute_sql("SELECT count(*) FROM orders WHERE customer_id = 7"))
        print(f"token: {rows} refused={'reason: scope_violation' in out}")
    finally:
        await server.db_connection.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(*urls()))
