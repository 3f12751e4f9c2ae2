"""`manage.py recompute_rollups [--check]`: the dashboard's rollups from the source rows.

With --check, compares what is stored with what the alerts, the timeline and the dispositions
say, prints the rows that differ and exits with status 1 if any do; without it, rebuilds them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflow import rollups


class Command(BaseCommand):
    help = "Rebuild the dashboard rollups from the source rows, or --check them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
        parser.add_argument("--show", type=int, default=20, help="differences to print (with --check)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["check"]:
            filled = rollups.backfill_stage_times()
            n = rollups.rebuild()
            self.stdout.write(self.style.SUCCESS(
                f"rebuilt {n:,} rollup rows ({filled:,} transition entries given their time in stage)"))
            return
        diffs = rollups.differences()
        if not diffs:
            self.stdout.write(self.style.SUCCESS("rollups match the source rows"))
            return
        for key, stored, expected in diffs[: opts["show"]]:
            self.stdout.write(f"{key}: stored {stored}, expected {expected}")
        raise CommandError(f"{len(diffs):,} rollup rows differ from the source rows; run recompute_rollups")
