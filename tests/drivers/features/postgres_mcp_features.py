"""postgres-mcp's explain_query tool (issue 12 item 8: EXPLAIN
without ANALYZE judged as the query inside).

Usage: python3 postgres_mcp_features.py ANALYTICS_URL SUPPORT_BOT_URL
(with tests/drivers on PYTHONPATH)
"""

import asyncio
import logging
import typing

import typing_extensions

if not hasattr(typing, "override"):
    typing.override = typing_extensions.override

from postgres_mcp import server  # noqa: E402

from clientmatrix import urls  # noqa: E402


async def main(analytics, _support_bot):
    logging.disable(logging.CRITICAL)
    for mode in (server.AccessMode.UNRESTRICTED, server.AccessMode.RESTRICTED):
        server.current_access_mode = mode
        await server.db_connection.pool_connect(analytics)
        try:
            out = (await server.explain_query("SELECT count(*) FROM orders WHERE status = 'paid'", False, []))[0].text
            print(f"{mode.value} explain_query: {out.startswith('Error') is False} {'Aggregate' in out}")
            out = (await server.explain_query("SELECT email FROM customers", False, []))[0].text
            print(f"{mode.value} explain refused: {'reason: column_denied' in out}")
        finally:
            await server.db_connection.close()
    print("closed")


if __name__ == "__main__":
    asyncio.run(main(*urls()))
