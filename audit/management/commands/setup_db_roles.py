"""Create the production database roles so the audit log survives the app's own account.

    python manage.py setup_db_roles --owner huoyan_owner --app huoyan_app

Run it as a PostgreSQL superuser (DATABASE_URL pointing at the Huoyan database), after
`migrate`; it is idempotent, so run it again after every upgrade's `migrate`.

- The **owner** role owns every table, sequence and function of the schema. Migrations run as
  the owner (`DATABASE_URL=postgres://huoyan_owner:…@…/huoyan manage.py migrate`).
- The **app** role is what the web server, the Celery worker and beat connect as. It may read and
  write the application's tables, but on `audit_auditevent` it has only INSERT and SELECT: no
  UPDATE, DELETE or TRUNCATE, and since it owns nothing it cannot disable or drop the triggers
  that refuse them (audit migrations 0002 and 0005), nor create tables.

Passwords come from `--owner-password` / `--app-password` or the environment variables
HUOYAN_DB_OWNER_PASSWORD / HUOYAN_DB_APP_PASSWORD; without one the role is left as it is (or
created without a password, for local `trust`/`peer` authentication).
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from audit.models import AuditEvent

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Command(BaseCommand):
    help = ("Create the owner and app PostgreSQL roles and grants: the app role may only INSERT "
            "and SELECT the audit log.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", default="huoyan_owner", help="Role that owns the schema (runs migrations).")
        parser.add_argument("--app", default="huoyan_app", help="Role the application connects as.")
        parser.add_argument("--owner-password", default=os.environ.get("HUOYAN_DB_OWNER_PASSWORD", ""))
        parser.add_argument("--app-password", default=os.environ.get("HUOYAN_DB_APP_PASSWORD", ""))
        parser.add_argument("--schema", default="public")
        parser.add_argument("--dry-run", action="store_true", help="Print the SQL instead of running it.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(f"setup_db_roles is for PostgreSQL; this database is {connection.vendor}.")
        names = {k: options[k] for k in ("owner", "app", "schema")}
        for key, value in names.items():
            if not ROLE_NAME.match(value):
                raise CommandError(f"--{key} must be a lower-case SQL name (letters, digits, _): {value!r}")
        if names["owner"] == names["app"]:
            raise CommandError("--owner and --app must be two different roles.")
        statements = self.statements(owner=names["owner"], app=names["app"], schema=names["schema"],
                                     owner_password=options["owner_password"],
                                     app_password=options["app_password"])
        if options["dry_run"]:
            for sql, params in statements:
                self.stdout.write(sql + (" -- with a password" if params else "") + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params or None)
        self.stdout.write(self.style.SUCCESS(
            f"Roles ready: {names['owner']} owns the schema, {names['app']} may only INSERT and SELECT "
            f"{AuditEvent._meta.db_table}. Point the application's DATABASE_URL at {names['app']}."
        ))

    def statements(self, *, owner: str, app: str, schema: str, owner_password: str,
                   app_password: str) -> list[tuple[str, list[str]]]:
        q = connection.ops.quote_name
        audit = q(AuditEvent._meta.db_table)
        out: list[tuple[str, list[str]]] = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            database = cursor.fetchone()[0]
            for role, password in ((owner, owner_password), (app, app_password)):
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone() is None:
                    out.append((f"CREATE ROLE {q(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", []))
                # Never a member of the other: the app must not act as the owner.
                if password:
                    out.append((f"ALTER ROLE {q(role)} PASSWORD %s", [password]))
            cursor.execute(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
                # A sequence that belongs to a column (identity, serial) follows its table.
                "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
                "AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))) "
                "ORDER BY c.relkind, c.relname",
                [schema],
            )
            relations = cursor.fetchall()
            cursor.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s AND p.prokind = 'f' AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
                [schema],
            )
            functions = [row[0] for row in cursor.fetchall()]
        out += [
            (f"REVOKE {q(owner)} FROM {q(app)}", []),
            (f"GRANT CONNECT ON DATABASE {q(database)} TO {q(owner)}, {q(app)}", []),
            (f"GRANT USAGE, CREATE ON SCHEMA {q(schema)} TO {q(owner)}", []),
            (f"REVOKE CREATE ON SCHEMA {q(schema)} FROM PUBLIC", []),
            (f"REVOKE CREATE ON SCHEMA {q(schema)} FROM {q(app)}", []),
            (f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(app)}", []),
        ]
        kinds = {"r": "TABLE", "p": "TABLE", "S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
        for name, kind in relations:
            out.append((f"ALTER {kinds[kind]} {q(schema)}.{q(name)} OWNER TO {q(owner)}", []))
        for signature in functions:
            out.append((f"ALTER FUNCTION {signature} OWNER TO {q(owner)}", []))
        out += [
            (f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q(schema)} TO {q(app)}", []),
            (f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {q(app)}", []),
            # Tables the owner creates in later migrations get the same grants...
            (f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA {q(schema)} "
             f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q(app)}", []),
            (f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA {q(schema)} "
             f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {q(app)}", []),
            # ...and the audit log is append-only for the app: INSERT and SELECT, nothing else.
            (f"REVOKE ALL ON {q(schema)}.{audit} FROM PUBLIC", []),
            (f"REVOKE ALL ON {q(schema)}.{audit} FROM {q(app)}", []),
            (f"GRANT SELECT, INSERT ON {q(schema)}.{audit} TO {q(app)}", []),
        ]
        return out
