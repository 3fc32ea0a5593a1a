"""What may be sent to a SQL source, and what of its URL is secret (SPEC §9, issue 19).

A source's queries are parsed with sqlglot (a maintained SQL parser, not a regex) in the source's
dialect and must be exactly one ``SELECT`` (set operations and CTEs of selects included): no second
statement, no DML or DDL (a data-modifying CTE neither), no ``SET``/``COMMIT``, no ``SELECT … INTO``
or ``FOR UPDATE``, and no function that reads files, other databases or changes the session
(``read_csv``, ``pg_read_file``, ``LOAD_FILE``, ``dblink``, ``set_config`` …). Every statement the
bot builds around them (the grouped query, the samples) is checked the same way before it is sent.
The database's own read-only transaction is the second wall (``bot.ingest.sql_dialects.reading``).

The URL: connection parameters that could undo the read-only setup (``client_flag`` with
multi-statements, ``init_command``, DuckDB settings) are refused; a password, wherever it is (the
userinfo or a query parameter such as ``?password=``), is split off to be encrypted at rest and is
masked in everything printed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import sqlglot
from sqlalchemy.engine import URL
from sqlglot import exp
from sqlglot.errors import SqlglotError

from bot.errors import UserError

__all__ = ["check_query", "check_url", "mask", "secret_params", "split_secrets"]

# sqlglot's dialect per SQLAlchemy backend.
_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "duckdb": "duckdb", "sqlite": "sqlite"}
# Functions that read files or other servers, run SQL given as text, or change the session or
# data: refused by name in every dialect (a name unknown to one dialect is harmless to refuse).
_REFUSED_FUNCTIONS = frozenset({
    # PostgreSQL: files, large objects, other servers, settings, sequences, backends, locks
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
    "pg_ls_tmpdir", "pg_ls_archive_statusdir", "lo_import", "lo_export", "lo_from_bytea", "lo_put", "lo_create",
    "lo_unlink", "dblink", "dblink_exec", "dblink_connect", "dblink_send_query", "set_config", "nextval",
    "setval", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_notify",
    "pg_advisory_lock", "pg_advisory_xact_lock", "pg_try_advisory_lock", "pg_try_advisory_xact_lock",
    "query_to_xml", "query_to_xml_and_xmlschema", "pg_logical_emit_message", "txid_current", "pg_current_xact_id",
    # MySQL / MariaDB
    "load_file", "sys_exec", "sys_eval", "get_lock", "release_lock",
    # DuckDB: file readers and scanners, other databases, SQL given as text
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_json_objects", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_text", "read_blob",
    "read_xlsx", "csv_scan", "glob", "sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_attach",
    "postgres_query", "postgres_execute", "mysql_scan", "mysql_query", "mysql_execute", "iceberg_scan",
    "delta_scan", "st_read", "parquet_metadata", "parquet_schema", "query", "query_table", "getenv",
    "http_get", "http_post", "load_aws_credentials",
    # SQLite: extensions and the shell's file functions
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
})
_REFUSED_PREFIXES = ("read_", "pg_read", "pg_ls_", "lo_", "dblink")
_REFUSED_SUFFIXES = ("_scan", "_attach")
# DuckDB reads a quoted path given as a table ('file.csv', '/etc/passwd'): refused by its look.
_FILE_TABLE = re.compile(r"[/\\]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|xlsx|db|duckdb|sqlite3?)$", re.I)
_REFUSED_NODES: tuple[type, ...] = (
    exp.DML, exp.DDL, exp.Command, exp.Set, exp.Transaction, exp.Commit, exp.Rollback, exp.Into, exp.Lock,
    exp.Pragma, exp.Use, exp.LoadData, exp.Copy,
)
_ALLOWED_ROOTS: tuple[type, ...] = (exp.Select, exp.SetOperation, exp.Subquery)

# URL query parameters a source may carry, per backend (anything else is refused by name).
_URL_PARAMS: dict[str, frozenset[str]] = {
    "postgresql": frozenset({"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslcompression",
                             "password", "application_name", "target_session_attrs", "gssencmode", "channel_binding",
                             "host", "port", "connect_timeout", "keepalives", "keepalives_idle",
                             "keepalives_interval", "keepalives_count", "tcp_user_timeout", "options", "service",
                             "passfile", "requiressl", "sslnegotiation"}),
    "mysql": frozenset({"charset", "ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert", "ssl_verify_identity",
                        "ssl_check_hostname", "ssl_disabled", "password", "passwd", "connect_timeout",
                        "read_timeout", "write_timeout", "unix_socket", "program_name", "binary_prefix"}),
    "duckdb": frozenset(),
    "sqlite": frozenset(),
}
_URL_PARAMS["mariadb"] = _URL_PARAMS["mysql"]
_WHY_REFUSED = {
    "client_flag": "it can turn on multi-statements, which would let a query run a second, writing statement",
    "init_command": "it runs SQL of its own at every connection",
    "local_infile": "it lets the server read files from this machine",
    "autocommit": "the bot runs its reads in a read-only transaction of its own",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # sqlglot underlines the error's place for a terminal
# A query parameter whose name says it holds a secret: encrypted at rest, masked when shown.
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|api_?key|auth|credential", re.I)


def _quiet_sqlglot() -> None:
    # sqlglot logs a warning when it falls back to a raw Command: we refuse those with our own words.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


_quiet_sqlglot()


# ============================================================================ queries
def _function_name(node: Any) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _refused_function(name: str) -> bool:
    return (name in _REFUSED_FUNCTIONS or name.startswith(_REFUSED_PREFIXES) or name.endswith(_REFUSED_SUFFIXES))


def check_query(sql: str, backend: str, what: str = "the query") -> str:
    """``sql`` if it is exactly one read-only ``SELECT`` in ``backend``'s dialect, else a
    ``UserError`` naming what to fix. Returns the text unchanged (stripped of a final ``;``)."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise UserError(f"{what} is empty")
    dialect = _DIALECTS.get(backend)
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except SqlglotError as err:
        first = " ".join(_ANSI.sub("", str(err)).split())[:200]
        raise UserError(f"{what} could not be read as SQL ({first}): it must be exactly one SELECT statement, "
                        "balanced and complete") from None
    if len(statements) != 1:
        raise UserError(f"{what} holds {len(statements)} statements: it must be exactly one SELECT (no `;` "
                        "between statements)")
    [root] = statements
    if not isinstance(root, _ALLOWED_ROOTS):
        raise UserError(f"{what} must be a SELECT, not {root.key.upper()}: sources are read only")
    for node in root.walk():
        if isinstance(node, _REFUSED_NODES):
            raise UserError(f"{what} contains {node.key.upper()} ({node.sql(dialect=dialect)[:60]}): a source query "
                            "may only read (one SELECT, no writes, locks, SET or transaction control)")
        if isinstance(node, exp.Select) and (node.args.get("into") or node.args.get("locks")):
            raise UserError(f"{what} uses SELECT … INTO or FOR UPDATE/SHARE: a source query may only read")
        name = _function_name(node)
        if name is not None and _refused_function(name):
            raise UserError(f"{what} calls {name}(), which reads files or other servers or changes the session: "
                            "a source query may only read the database's own tables")
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and \
                _FILE_TABLE.search(str(node.this.name)):
            raise UserError(f"{what} reads {node.this.name!r}, which looks like a file: a source query may only read "
                            "the database's own tables")
    return text


# ============================================================================ URL
def check_url(url: URL) -> None:
    """Refuse connection parameters that could undo the read-only setup, or that we do not know."""
    backend = url.get_backend_name()
    allowed = _URL_PARAMS.get(backend, frozenset())
    for name in url.query:
        if name.lower() in allowed:
            continue
        why = _WHY_REFUSED.get(name.lower(), "only connection and TLS settings are accepted")
        shown = ", ".join(sorted(allowed)) or "none"
        raise UserError(f"the URL's parameter {name!r} is not accepted for a {backend} source: {why} "
                        f"(accepted: {shown})")


def secret_params(url: URL) -> dict[str, str]:
    """The URL's query parameters that hold secrets (``password``, ``sslpassword``, ``token`` …)."""
    out: dict[str, str] = {}
    for name, value in url.query.items():
        if _SECRET_NAME.search(name):
            out[name] = value if isinstance(value, str) else ",".join(value)
    return out


def split_secrets(url: URL) -> tuple[URL, dict[str, str]]:
    """(the URL without any secret, the secrets: ``{"password": …, "query": {name: value}}``)."""
    query = secret_params(url)
    secrets: dict[str, object] = {}
    if url.password:
        secrets["password"] = str(url.password)
    if query:
        secrets["query"] = query
    # The stored URL keeps ``***`` where each secret was (so it shows as it was given);
    # ``with_secrets`` puts the values back.
    public = url._replace(password="***" if url.password else None)
    if query:
        public = public.update_query_dict({k: "***" for k in query})
    return public, secrets  # type: ignore[return-value]


def with_secrets(url: URL, secrets: Mapping[str, object]) -> URL:
    """The URL with its secrets put back (the inverse of ``split_secrets``)."""
    if secrets.get("password"):
        url = url.set(password=str(secrets["password"]))
    query = secrets.get("query")
    if isinstance(query, Mapping) and query:
        url = url.update_query_dict({str(k): str(v) for k, v in query.items()})
    return url


def stored_form(url: URL) -> str:
    """The URL as text, its ``***`` placeholders kept readable."""
    return url.render_as_string(hide_password=False).replace("%2A%2A%2A", "***")


def shown(url: URL) -> str:
    """The URL as it may be printed: the password and every secret query parameter as ``***``."""
    masked = url.update_query_dict({k: "***" for k in secret_params(url)}) if secret_params(url) else url
    return masked.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first, so none shows in part)."""
    values = {v for s in secrets if s for v in (s, quote(s, safe=""), quote_plus(s, safe=""))}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "***")
    return text
