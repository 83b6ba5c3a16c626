"""Shared helpers for the client-matrix scripts (tests/python_clients.rs).

Each script gets two connection URLs: the `analytics` agent (a secret) and
`support-bot` (a capability token for customer 42). It prints one line per
step; the Rust test compares the output exactly. An unexpected exception
ends the script with a traceback and a non-zero status.
"""

import sys


def urls():
    """(secret agent URL, token agent URL) from the command line."""
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} ANALYTICS_URL SUPPORT_BOT_URL")
    return sys.argv[1], sys.argv[2]


def with_driver(url, driver):
    """`postgres://…` as a SQLAlchemy URL for `driver` (None: the default)."""
    scheme = "postgresql" if driver is None else f"postgresql+{driver}"
    return url.replace("postgres://", f"{scheme}://", 1)


def refusal(sqlstate, message, detail, hint):
    """One line for an actgate refusal as the driver surfaced it: the
    SQLSTATE, the reason code from DETAIL, and whether the message, DETAIL
    and HINT all reached the application."""
    detail = detail or ""
    code = detail.split(";")[0].removeprefix("reason: ") if detail.startswith("reason: ") else "?"
    return (
        f"{sqlstate} {code} message={bool(message) and message.startswith('actgate ')} "
        f"detail={'rule: ' in detail} hint={bool(hint)}"
    )


def psycopg_refusal(e):
    """`refusal` for a psycopg 2 or 3 exception."""
    sqlstate = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    d = e.diag
    return refusal(sqlstate, d.message_primary, d.message_detail, d.message_hint)


def asyncpg_refusal(e):
    """`refusal` for an asyncpg exception."""
    return refusal(e.sqlstate, e.message, e.detail, e.hint)
