"""Turning an uploaded CSV / XLSX into a typed Parquet file, with DuckDB doing the heavy work.

The pipeline never walks a CSV row by row in Python:

1. the bytes are sniffed for their encoding (UTF-8, UTF-8 with BOM, else GB18030, which covers
   GBK exports from Chinese Excel) and, unless already UTF-8, transcoded in 1 MiB chunks;
2. DuckDB reads the CSV with every column as text, collecting malformed lines in its rejects
   table, so a bad file is refused naming the line and column;
3. one aggregate query decides each column's type (integer, decimal, date, text), accepting
   `2024-03-05`, `2024/3/5` and `2024年3月5日` as dates;
4. one `COPY … TO … (FORMAT parquet)` writes the typed file, with `_row` (1-based) added.

XLSX (at most ~1M rows by format) is read with openpyxl in read-only mode into a temporary CSV
and then follows the same path.

Before any of that, `measure` looks at the file without parsing it (a CSV's lines; an XLSX's
declared member sizes, then its sheets' row elements counted while inflating, which the size
cap bounds) so a file over the row cap or a zip bomb is refused in well under a second.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import logging
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

log = logging.getLogger(__name__)

ROW_COLUMN = "_row"
TYPES = ("text", "integer", "decimal", "date")
MAX_COLUMNS = 500
CHUNK = 1 << 20

INT_RE = r"^[+-]?[0-9]{1,18}$"
DEC_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
# Digit strings that are codes, not quantities: more than 15 digits (beyond a double's exact
# range: invoice and account numbers) or a leading zero (`007`, `0512…`). Such a column stays text.
CODE_RE = r"^[+-]?(0[0-9]+|[0-9]{16,})(\.[0-9]*)?$"
DATE_RE = r"^[0-9]{4}(-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|年[0-9]{1,2}月[0-9]{1,2}日)$"


class ImportError_(Exception):
    """A file that cannot become a dataset; the message names the line and column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


@dataclass
class Imported:
    path: Path  # the Parquet file written (a temporary file; the caller moves it into storage)
    columns: list[dict[str, str]]
    row_count: int


def qi(name: str) -> str:
    """Quote an identifier for DuckDB. Only ever applied to names already checked as known."""
    return '"' + name.replace('"', '""') + '"'


def connect(*, read: Iterable[str | Path] = (), workdir: str | Path | None = None, threads: int | None = None,
            memory_limit: str | None = None, preserve_order: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can touch no file but the ones named: `read` (files it may read)
    and `workdir` (a directory it may read and write, also where it spills). External access,
    extension loading and configuration changes are switched off before anything else runs, so
    no SQL (a compiled spec included) can open another file, a URL or an extension."""
    config: dict[str, Any] = {
        "threads": threads or max(1, min(4, os.cpu_count() or 1)),
        "autoload_known_extensions": False, "autoinstall_known_extensions": False,
        "allow_community_extensions": False,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if not preserve_order:  # only for queries that order their result themselves
        config["preserve_insertion_order"] = False
    if workdir is not None:
        config["temp_directory"] = str(Path(workdir) / "spill")
    con = duckdb.connect(config=config)
    try:
        paths = [str(Path(p)) for p in read]
        if paths:
            con.execute("SET allowed_paths = ?", [paths])
        if workdir is not None:
            con.execute("SET allowed_directories = ?", [[str(Path(workdir)) + os.sep]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def import_limits() -> dict[str, Any]:
    """DuckDB's memory and threads for an import (settings.HUOYAN_IMPORT_LIMITS): past the memory
    limit it spills into the import's own work directory instead of growing with the file."""
    return dict(getattr(settings, "HUOYAN_IMPORT_LIMITS", None) or {"memory_limit": None, "threads": None})


def date_expr(col: str) -> str:
    """A DuckDB expression turning a text column in any accepted date form into a DATE (or NULL).

    DuckDB's own cast reads `2024-03-05` and `2024/3/5`; only `2024年3月5日` needs rewriting."""
    zh = f"replace(replace(replace({col}, '年', '-'), '月', '-'), '日', '')"
    return f"coalesce(try_cast({col} AS DATE), CAST(try_strptime({zh}, '%Y-%m-%d') AS DATE))"


def sniff_encoding(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _transcode(src: Path, encoding: str, workdir: Path) -> Path:
    if encoding == "utf-8":
        return src
    out = workdir / "utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(src, "rb") as fin, open(out, "w", encoding="utf-8", newline="") as fout:
        try:
            while chunk := fin.read(CHUNK):
                text = decoder.decode(chunk)
                fout.write(text)
                line += text.count("\n")
            fout.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise ImportError_(
                _("Line %(line)d is neither UTF-8 nor GB18030 text.") % {"line": line}, row=line
            ) from None
    return out


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _xlsx_to_csv(src: Path, workdir: Path, *, max_rows: int | None = None,
                 progress: Callable[[int], None] | None = None, expected_rows: int = 0) -> Path:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(open(src, "rb"), read_only=True, data_only=True)  # noqa: SIM115 - closed by wb.close()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException, zlib.error):
        raise ImportError_(_("The file is not a readable XLSX workbook.")) from None
    out = workdir / "xlsx.csv"
    try:
        ws = wb.worksheets[0]
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for n, row in enumerate(ws.iter_rows(values_only=True)):
                if max_rows is not None and n > max_rows:  # the header line is row 0
                    raise ImportError_(too_many_rows(max_rows))
                writer.writerow([_cell_text(v) for v in row])
                if progress and expected_rows and n % 20_000 == 0:
                    progress(10 + int(40 * min(n, expected_rows) / expected_rows))
    except (zipfile.BadZipFile, KeyError, ValueError, zlib.error):
        raise ImportError_(_("The file is not a readable XLSX workbook.")) from None
    finally:
        wb.close()
    return out


# ----- caps checked before any parsing -----

_TAG_SPAN = 64


def _row_tags(data: bytes, end: int) -> int:
    """Row elements (`<row …>`, or `<x:row …>` with a namespace prefix) in `data[:end]`, counted
    generously (`<rowBreaks` too): an upper bound is what a cap needs, and it is fast."""
    return data.count(b"<row", 0, end) + data.count(b":row", 0, end)
_SHEET_MEMBER = re.compile(r"^xl/worksheets/[^/]+\.xml$")


def too_many_rows(limit: int) -> str:
    return _("The file has more than %(max)s rows; split it into smaller files (at most %(max)s rows each).") % {
        "max": f"{limit:,}"}


def _too_big_unpacked(limit: int) -> str:
    return _("The workbook unpacks to more than %(mb)d MB; save it as CSV or split it.") % {
        "mb": limit // (1024 * 1024)}


def _count_csv_lines(src: Path) -> int:
    lines, last = 0, b"\n"
    with open(src, "rb") as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


def _count_xlsx_rows(src: Path, max_unpacked: int) -> int:
    """The largest number of `<row>` elements in any worksheet, read from the declared sizes and
    then by inflating the sheets in chunks (never more than `max_unpacked` bytes in all)."""
    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
            if len(infos) > 10_000 or sum(i.file_size for i in infos) > max_unpacked:
                raise ImportError_(_too_big_unpacked(max_unpacked))
            most = 0
            for info in infos:
                if not _SHEET_MEMBER.match(info.filename):
                    continue
                rows, tail, seen = 0, b"", 0
                with zf.open(info) as member:
                    while chunk := member.read(CHUNK):
                        seen += len(chunk)
                        if seen > max_unpacked:  # a member larger than it declared
                            raise ImportError_(_too_big_unpacked(max_unpacked))
                        data = tail + chunk
                        cut = data.rfind(b"<")  # a tag from here on may go on in the next chunk
                        if cut < 0 or len(data) - cut > _TAG_SPAN:
                            cut = len(data)
                        rows += _row_tags(data, cut)
                        tail = data[cut:]
                rows += _row_tags(tail, len(tail))
                most = max(most, rows)
            return most
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError):
        raise ImportError_(_("The file is not a readable XLSX workbook.")) from None


@dataclass
class Measured:
    kind: str  # "csv" or "xlsx"
    rows: int  # data rows (lines or row elements, minus the header), an upper bound


def measure(src: Path, filename: str, *, max_rows: int, max_unpacked: int) -> Measured:
    """Decide the file's kind and refuse it when it is over the row cap or (XLSX) unpacks to more
    than `max_unpacked` bytes, without parsing it. Messages name no path on the server."""
    suffix = Path(filename).suffix.lower()
    with open(src, "rb") as fh:
        magic = fh.read(4)
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        if magic != b"PK\x03\x04":
            raise ImportError_(_("The file is named .xlsx but is not an XLSX workbook."))
        kind, rows = "xlsx", _count_xlsx_rows(src, max_unpacked)
    elif suffix in (".csv", ".txt", ""):
        if b"\x00" in magic:
            raise ImportError_(_("The file is binary, not CSV text."))
        kind, rows = "csv", _count_csv_lines(src)
    else:
        raise ImportError_(_("Upload a CSV or XLSX file."))
    rows = max(rows - 1, 0)  # the header
    if rows > max_rows:
        raise ImportError_(too_many_rows(max_rows))
    return Measured(kind, rows)


def _check_header(names: list[str]) -> list[str]:
    clean: list[str] = []
    seen: set[str] = set()
    if len(names) > MAX_COLUMNS:
        raise ImportError_(_("Too many columns (%(n)d, at most %(max)d).") % {"n": len(names), "max": MAX_COLUMNS})
    for i, raw in enumerate(names, start=1):
        name = (raw or "").strip()
        if not name:
            raise ImportError_(_("Line 1, column %(i)d: the header is empty.") % {"i": i}, row=1, column=str(i))
        if name == ROW_COLUMN or name.startswith("_"):
            raise ImportError_(
                _("Line 1, column %(i)d: column names may not start with '_' (%(name)s).") % {"i": i, "name": name},
                row=1, column=name,
            )
        if name in seen:
            raise ImportError_(
                _("Line 1, column %(i)d: the column name %(name)s appears twice.") % {"i": i, "name": name},
                row=1, column=name,
            )
        seen.add(name)
        clean.append(name)
    return clean


def _type_stats(con: duckdb.DuckDBPyConnection, relation: str, names: list[str]) -> list[tuple]:
    parts = []
    for i, name in enumerate(names):
        c = f"NULLIF(trim({qi(name)}), '')"
        dec = f"regexp_matches({c}, '{DEC_RE}')"
        parts += [
            f"count({c}) AS n{i}",
            f"count(*) FILTER (WHERE regexp_matches({c}, '{INT_RE}')) AS i{i}",
            f"count(*) FILTER (WHERE {dec}) AS d{i}",
            f"count(*) FILTER (WHERE regexp_matches({c}, '{DATE_RE}') AND {date_expr(c)} IS NOT NULL) AS t{i}",
            f"coalesce(max(length(split_part({c}, '.', 2))) FILTER (WHERE {dec}), 0) AS s{i}",
            f"coalesce(max(length(split_part(ltrim({c}, '+-'), '.', 1))) FILTER (WHERE {dec}), 0) AS w{i}",
            f"count(*) FILTER (WHERE regexp_matches({c}, '{CODE_RE}')) AS k{i}",
        ]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchone()
    return [tuple(row[i * 7:(i + 1) * 7]) for i in range(len(names))]


def _decide(stats: tuple) -> dict[str, str]:
    n, ints, decs, dates, scale, width, codes = stats
    if codes:
        return {"type": "text", "sql": "VARCHAR"}
    if n and ints == n:
        return {"type": "integer", "sql": "BIGINT"}
    if n and decs == n:
        scale = min(int(scale), 10)
        return {"type": "decimal", "sql": f"DECIMAL(18,{scale})" if int(width) + scale <= 18 else "DOUBLE"}
    if n and dates == n:
        return {"type": "date", "sql": "DATE"}
    return {"type": "text", "sql": "VARCHAR"}


def infer_types(con: duckdb.DuckDBPyConnection, relation: str, names: list[str]) -> list[dict[str, str]]:
    """Decide every column's type. A sample of rows rules out most text columns cheaply; one
    aggregate query over all rows then checks each remaining column for its candidate type only;
    a column failing its check gets the full analysis."""
    sample = _type_stats(con, f"(SELECT * FROM {relation} LIMIT 2000)", names)
    guess = {name: _decide(st)["type"] if st[0] else "any" for name, st in zip(names, sample, strict=True)}
    checks, plan = [], []
    for name in names:
        if guess[name] in ("text", "any"):
            continue
        c = f"NULLIF(trim({qi(name)}), '')"
        i = len(plan)
        if guess[name] == "integer":
            ok = f"regexp_matches({c}, '{INT_RE}')"
            extra = ["0", "0"]
        elif guess[name] == "decimal":
            ok = f"regexp_matches({c}, '{DEC_RE}')"
            extra = [f"coalesce(max(length(split_part({c}, '.', 2))), 0)",
                     f"coalesce(max(length(split_part(ltrim({c}, '+-'), '.', 1))), 0)"]
        else:
            ok = f"regexp_matches({c}, '{DATE_RE}') AND {date_expr(c)} IS NOT NULL"
            extra = ["0", "0"]
        codes = f"count(*) FILTER (WHERE regexp_matches({c}, '{CODE_RE}'))" if guess[name] != "date" else "0"
        checks += [f"count({c}) AS n{i}", f"count(*) FILTER (WHERE {ok}) AS ok{i}", *extra, codes]
        plan.append(name)
    verified: dict[str, dict[str, str]] = {}
    if plan:
        row = con.execute(f"SELECT {', '.join(checks)} FROM {relation}").fetchone()
        for i, name in enumerate(plan):
            n, ok, scale, width, codes = row[i * 5:(i + 1) * 5]
            if n == ok:
                kind = guess[name]
                stats = (n, ok if kind == "integer" else 0, ok if kind == "decimal" else 0,
                         ok if kind == "date" else 0, scale, width, codes)
                verified[name] = _decide(stats)
    redo = [n for n in names if n not in verified and guess[n] != "text"]
    if redo:
        for name, st in zip(redo, _type_stats(con, relation, redo), strict=True):
            verified[name] = _decide(st)
    return [{"name": n, **verified.get(n, {"type": "text", "sql": "VARCHAR"})} for n in names]


def cast_expr(name: str, column: dict[str, str]) -> str:
    c = f"NULLIF(trim({qi(name)}), '')"
    if column["type"] == "date":
        return f"{date_expr(c)} AS {qi(name)}"
    if column["type"] == "text":
        return f"{qi(name)} AS {qi(name)}"
    return f"CAST({c} AS {column['sql']}) AS {qi(name)}"


def _override(con: duckdb.DuckDBPyConnection, relation: str, name: str, kind: str) -> dict[str, str]:
    """The column typed as the uploader said; refused naming the first line whose value does not fit."""
    if kind == "text":
        return {"type": "text", "sql": "VARCHAR"}
    c = f"NULLIF(trim({qi(name)}), '')"
    if kind == "date":
        ok = date_expr(c)
        column = {"type": "date", "sql": "DATE"}
    else:
        regex = INT_RE if kind == "integer" else DEC_RE
        if kind == "integer":
            column = {"type": "integer", "sql": "BIGINT"}
        else:
            scale, width = con.execute(
                f"SELECT coalesce(max(length(split_part({c}, '.', 2))), 0), "
                f"coalesce(max(length(split_part(ltrim({c}, '+-'), '.', 1))), 0) FROM {relation} "
                f"WHERE regexp_matches({c}, '{DEC_RE}')").fetchone()
            scale = min(int(scale), 10)
            column = {"type": "decimal",
                      "sql": f"DECIMAL(18,{scale})" if int(width) + scale <= 18 else "DOUBLE"}
        ok = f"CASE WHEN regexp_matches({c}, '{regex}') THEN 1 END"
    bad = con.execute(
        f"SELECT line, {qi(name)} FROM (SELECT row_number() OVER () + 1 AS line, * FROM {relation}) "
        f"WHERE {c} IS NOT NULL AND {ok} IS NULL ORDER BY line LIMIT 1").fetchone()
    if bad:
        raise ImportError_(
            _("Line %(line)d, column %(col)s: %(value)s is not %(kind)s, the type you chose for this column.")
            % {"line": bad[0], "col": name, "value": str(bad[1])[:40], "kind": TYPE_WORDS[kind]},
            row=int(bad[0]), column=name)
    return column


TYPE_WORDS = {"text": gettext_lazy("text"), "integer": gettext_lazy("a whole number"),
              "decimal": gettext_lazy("a number"), "date": gettext_lazy("a date")}


def check_column_types(value: Any) -> dict[str, str]:
    """`column_types` as given on upload: {column: text|integer|decimal|date}, or raise ImportError_."""
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict) or len(value) > MAX_COLUMNS:
        raise ImportError_(_("column_types is an object {column: text, integer, decimal or date}."))
    for name, kind in value.items():
        if kind not in TYPES:
            raise ImportError_(_("Column %(col)s: the type %(kind)s is not one of text, integer, decimal, date.")
                               % {"col": name, "kind": str(kind)[:20]}, column=str(name))
    return {str(k): str(v) for k, v in value.items()}


TYPE_ALIASES = {"文本": "text", "整数": "integer", "小数": "decimal", "数字": "decimal", "金额": "decimal",
                "日期": "date"}


def parse_column_types(text: str) -> dict[str, str] | str:
    """The upload screen's column types: JSON, or one `column: type` per line (or separated by
    ；/;), the type in English or Chinese (文本/整数/小数/日期). Returns the raw text when it cannot
    be read, for `check_column_types` to refuse with a message."""
    import json

    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    out: dict[str, str] = {}
    for part in re.split(r"[\n;；]+", text):
        if not part.strip():
            continue
        m = re.fullmatch(r"\s*(.+?)\s*[:：=]\s*(\S+)\s*", part)
        if not m:
            return text
        out[m.group(1)] = TYPE_ALIASES.get(m.group(2), m.group(2).lower())
    return out


def import_file(src: Path, filename: str, workdir: Path, column_types: dict[str, str] | None = None, *,
                max_rows: int | None = None, max_unpacked: int | None = None,
                progress: Callable[[int], None] | None = None) -> Imported:
    """Convert `src` (an uploaded file saved on disk) into `workdir/data.parquet`. `column_types`
    overrides the inferred type of the columns it names.

    The caps (`max_rows`, `max_unpacked`; by default the settings) are checked by `measure` before
    the file is parsed; any failure is an `ImportError_` whose message names no server path."""
    max_rows = max_rows or settings.HUOYAN_DATASET_MAX_ROWS
    max_unpacked = max_unpacked or settings.HUOYAN_XLSX_MAX_UNPACKED_BYTES
    try:
        return _import(src, filename, workdir, overrides=check_column_types(column_types), max_rows=max_rows,
                       max_unpacked=max_unpacked, progress=progress)
    except ImportError_ as exc:
        exc.message = scrub_paths(exc.message, src, workdir, filename)
        raise
    except (duckdb.Error, OSError, MemoryError, zipfile.BadZipFile, zlib.error, UnicodeError) as exc:
        log.warning("import of an upload failed: %s", type(exc).__name__)
        if isinstance(exc, (MemoryError, duckdb.OutOfMemoryException)):
            raise ImportError_(_("The file needs more memory to import than the server allows; "
                                 "split it into smaller files.")) from None
        raise ImportError_(_("The file could not be imported; check that it is a valid CSV or XLSX file.")) from None


def scrub_paths(text: str, src: Path, workdir: Path, filename: str) -> str:
    """Replace every server path in `text` with the uploaded file's own name."""
    name = Path(filename).name or "upload"
    for path in sorted({str(src), str(workdir), tempfile.gettempdir()}, key=len, reverse=True):
        text = re.sub(re.escape(path) + r"[^\s\"']*", name, text)
    return text


def _import(src: Path, filename: str, workdir: Path, *, overrides: dict[str, str], max_rows: int,
            max_unpacked: int, progress: Callable[[int], None] | None) -> Imported:
    measured = measure(src, filename, max_rows=max_rows, max_unpacked=max_unpacked)
    if progress:
        progress(10)
    if measured.kind == "xlsx":
        csv_path = _xlsx_to_csv(src, workdir, max_rows=max_rows, progress=progress, expected_rows=measured.rows)
    else:
        csv_path = _transcode(src, sniff_encoding(src), workdir)
    if progress:
        progress(50)

    lim = import_limits()
    con = connect(read=[csv_path], workdir=workdir, threads=lim["threads"], memory_limit=lim["memory_limit"])
    try:
        # A view, not a table: each pass (count and rejects, type checks, the typed copy) streams the
        # CSV again, so an import holds a few row groups at a time instead of the whole file as text.
        literal = "'" + str(csv_path).replace("'", "''") + "'"
        try:
            con.execute(
                f"CREATE TEMP VIEW txt AS SELECT * FROM read_csv({literal}, all_varchar=true, header=true, "
                "store_rejects=true, rejects_limit=1, null_padding=false)")
            names = [r[0] for r in con.execute("DESCRIBE txt").fetchall()]
            _check_header(names)
            # fetchall: the scan must finish (not just yield its one row) for the rejects table to exist.
            row_count = con.execute("SELECT count(*) FROM txt").fetchall()[0][0]
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise
            first = str(exc).splitlines()[0]
            raise ImportError_(_("The file could not be read as CSV: %(err)s") % {"err": first}) from None
        reject = con.execute(
            "SELECT line, column_name, column_idx, error_type, error_message FROM reject_errors ORDER BY line LIMIT 1"
        ).fetchone()
        if reject:
            line, col, idx, _kind, msg = reject
            col_label = col or str(idx)
            raise ImportError_(
                _("Line %(line)d, column %(col)s: %(msg)s") % {"line": line, "col": col_label, "msg": msg},
                row=int(line), column=str(col_label),
            )
        if row_count == 0:
            raise ImportError_(_("The file has a header but no rows."))
        if row_count > max_rows:
            raise ImportError_(too_many_rows(max_rows))
        if progress:
            progress(65)
        unknown = [n for n in overrides if n not in names]
        if unknown:
            raise ImportError_(_("column_types names %(col)s, which is not a column of the file.")
                               % {"col": unknown[0]}, column=unknown[0])
        inferred = infer_types(con, "txt", [n for n in names if n not in overrides])
        chosen = {c["name"]: c for c in inferred}
        for name, kind in overrides.items():
            chosen[name] = {"name": name, **_override(con, "txt", name, kind)}
        columns = [chosen[n] for n in names]
        if progress:
            progress(80)
        out = workdir / "data.parquet"
        select = ", ".join(cast_expr(c["name"], c) for c in columns)
        con.execute(
            f"COPY (SELECT row_number() OVER () AS {ROW_COLUMN}, {select} FROM txt) TO ? "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
            [str(out)],
        )
    finally:
        con.close()
    return Imported(out, [{"name": c["name"], "type": c["type"]} for c in columns], int(row_count))


# ----- typed values (JSON rows appended through the API, and filter values in specs) -----

def coerce(value: Any, kind: str) -> Any:
    """Convert one JSON value to the column's type, or raise ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "text":
        if isinstance(value, (dict, list)):
            raise ValueError(_("expected text"))
        return str(value)
    if kind == "integer":
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError(_("expected an integer"))
        try:
            out = int(str(value).strip()) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            raise ValueError(_("expected an integer")) from None
        if abs(out) >= 10**18:
            raise ValueError(_("integer out of range"))
        return out
    if kind == "decimal":
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise ValueError(_("expected a number"))
        try:
            out = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise ValueError(_("expected a number")) from None
        if not out.is_finite() or abs(out) >= 10**18:
            raise ValueError(_("number out of range"))
        return out
    if kind == "date":
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        for sep in ("年", "月", "/"):
            text = text.replace(sep, "-")
        text = text.rstrip("日")
        try:
            y, m, d = (int(p) for p in text.split("-"))
            return dt.date(y, m, d)
        except (TypeError, ValueError):
            raise ValueError(_("expected a date such as 2024-03-05")) from None
    raise ValueError(kind)


_PLAIN = (str, int, bool, type(None))


def json_safe(value: Any) -> Any:
    """Decimals → exact strings, dates → ISO strings, integral floats → ints; recursively."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 1e15 else value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def append_rows(src_parquet: Path, columns: list[dict[str, str]], rows: Iterable[dict[str, Any]],
                out: Path) -> int:
    """Write `out` = `src_parquet` + typed `rows` (already validated); returns the new row count."""
    import pyarrow as pa

    con = connect(read=[src_parquet], workdir=out.parent)
    try:
        rel = con.read_parquet(str(src_parquet))
        sql_types = {name: str(kind) for name, kind in zip(rel.columns, rel.types, strict=True)}
        rows = list(rows)
        arrays = {}
        for c in columns:
            values = [r.get(c["name"]) for r in rows]
            if c["type"] == "text":
                arrays[c["name"]] = pa.array([None if v is None else str(v) for v in values], pa.string())
            elif c["type"] == "integer":
                arrays[c["name"]] = pa.array(values, pa.int64())
            elif c["type"] == "date":
                arrays[c["name"]] = pa.array(values, pa.date32())
            else:
                arrays[c["name"]] = pa.array([None if v is None else str(v) for v in values], pa.string())
        new = pa.table(arrays) if columns else pa.table({})  # noqa: F841 - read by DuckDB below
        con.register("new_rows", new)
        casts = ", ".join(f"CAST({qi(c['name'])} AS {sql_types[c['name']]}) AS {qi(c['name'])}" for c in columns)
        names = ", ".join(qi(c["name"]) for c in columns)
        con.execute(
            f"COPY (SELECT {ROW_COLUMN}, {names} FROM read_parquet(?) "
            f"UNION ALL SELECT (SELECT coalesce(max({ROW_COLUMN}), 0) FROM read_parquet(?)) + row_number() OVER (), "
            f"{casts} FROM new_rows) TO ? (FORMAT parquet, COMPRESSION zstd)",
            [str(src_parquet), str(src_parquet), str(out)],
        )
        return con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]
    finally:
        con.close()


def preview(path: Path, limit: int = 20) -> list[dict[str, Any]]:
    con = connect(read=[path])
    try:
        cur = con.execute("SELECT * EXCLUDE (_row) FROM read_parquet(?) ORDER BY _row LIMIT ?", [str(path), limit])
        names = [d[0] for d in cur.description]
        return [json_safe(dict(zip(names, r, strict=True))) for r in cur.fetchall()]
    finally:
        con.close()


def new_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="huoyan-ds-")
