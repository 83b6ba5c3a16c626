"""LangChain's SQLDatabase (langchain-community) through actgate
(tests/python_clients.rs).

Usage: python3 langchain_client.py ANALYTICS_URL SUPPORT_BOT_URL

SQLDatabase.from_uri reflects every table on the first get_table_info and
samples three rows of each, which the agent's rules partly refuse
(customers.email, refunds.created_by, the denied tables): LangChain leaves
those samples out and carries on. Its default URI (`postgresql://`, which
SQLAlchemy 2.1 maps to psycopg 3) waits on item 1
(tests/drivers/pending/); here the psycopg2 URI.
"""

import warnings

warnings.simplefilter("ignore")

from langchain_community.utilities import SQLDatabase  # noqa: E402

from clientmatrix import urls, with_driver  # noqa: E402


def main(analytics, support_bot):
    db = SQLDatabase.from_uri(with_driver(analytics, "psycopg2"))
    print(f"dialect: {db.dialect}")
    print(f"usable tables: {db.get_usable_table_names()}")
    info = db.get_table_info(["orders", "products"])
    print(
        f"table info: {info.count('CREATE TABLE')} tables, "
        f"samples={info.count('rows from')} {'3 rows from orders table' in info}"
    )
    info = db.get_table_info()
    print(f"all table info: {info.count('CREATE TABLE')} tables")
    print(f"run: {db.run('SELECT status, count(*) FROM orders GROUP BY status ORDER BY status')}")
    print(f"run parameters: {db.run('SELECT count(*) FROM orders WHERE status = :s', parameters={'s': 'paid'})}")
    out = db.run_no_throw("SELECT password_hash FROM staff_users")
    print(
        f"refused: {out.startswith('Error: (psycopg2.errors.InsufficientPrivilege) actgate denied')} "
        f"{'reason: table_denied' in out} {'HINT:' in out}"
    )
    print(f"after: {db.run('SELECT count(*) FROM products')}")
    token = SQLDatabase.from_uri(with_driver(support_bot, "psycopg2"), include_tables=["orders", "products"], sample_rows_in_table_info=0)
    print(f"token: {token.get_usable_table_names()} {token.run('SELECT count(*) FROM orders WHERE customer_id = 42')}")
    print("closed")


if __name__ == "__main__":
    main(*urls())
