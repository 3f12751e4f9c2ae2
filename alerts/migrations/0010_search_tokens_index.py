"""Search that an index serves for two Chinese characters too (issue 16).

Trigrams cannot index `化工`, so a search scanned and upper-cased three columns of every alert
(0.9 s at 500,000 alerts). This adds `hy_search_tokens` (a text's characters and pairs of
characters, upper-cased like `icontains` compares), `hy_alert_tokens` (those of the columns a
search reads in part, in `alerts.search.TOKEN_COLUMNS` order), a GIN index over the latter, and
indexes for the two columns searched whole. PostgreSQL only: SQLite has neither GIN nor the
functions and searches as before.

The functions are IMMUTABLE because the index stores their results: a later change to them must
come with a migration that rebuilds the index.
"""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION hy_search_tokens(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $hy$
DECLARE
    u text := upper(t);
    n int := char_length(u);
    out text[] := '{}';
BEGIN
    FOR i IN 1..n LOOP
        out := out || substr(u, i, 1);
        IF i < n THEN
            out := out || substr(u, i, 2);
        END IF;
    END LOOP;
    RETURN out;
END
$hy$;

CREATE OR REPLACE FUNCTION hy_alert_tokens(title text, subject text, rule_code text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $hy$
    SELECT hy_search_tokens(title) || hy_search_tokens(subject) || hy_search_tokens(rule_code)
$hy$;
"""

INDEXES = [
    """CREATE INDEX IF NOT EXISTS alert_search_tokens_idx ON alerts_alert USING gin
        (hy_alert_tokens(title, subject_name, rule_code))""",
    # The credit code and the ID number are searched whole (`iexact`, i.e. UPPER(col) = UPPER(q)):
    # beside the token index in one OR, each needs an index of its own or the OR scans the table.
    "CREATE INDEX IF NOT EXISTS alert_credit_code_upper_idx ON alerts_alert (upper(subject_credit_code))",
    "CREATE INDEX IF NOT EXISTS alert_id_number_upper_idx ON alerts_alert (upper(subject_id_number))",
]


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS)
    # A GIN index builds several times faster with room to sort its entries (500,000 alerts:
    # about two minutes at the default 64 MB); SET LOCAL ends with the migration's transaction.
    schema_editor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for sql in INDEXES:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in ("alert_search_tokens_idx", "alert_credit_code_upper_idx", "alert_id_number_upper_idx"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")
    schema_editor.execute("DROP FUNCTION IF EXISTS hy_alert_tokens(text, text, text)")
    schema_editor.execute("DROP FUNCTION IF EXISTS hy_search_tokens(text)")


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0009_source_indicators"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
