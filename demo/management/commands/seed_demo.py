from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.alerts import USERS, seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo org tree, users, source system and sample alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="huoyan-demo", help="Password for every demo user.")
        parser.add_argument("--source-key", default=None, help="API key to give the demo-feed source system.")
        parser.add_argument("--alerts", type=int, default=80, help="Number of sample alerts (first run only).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo(password=options["password"], source_key=options["source_key"], alerts=options["alerts"])
        names = ", ".join([u[0] for u in USERS] + ["admin"])
        self.stdout.write(self.style.SUCCESS(f"Demo users: {names} (password: {options['password']})"))
        if result.source_key:
            self.stdout.write(f"Source system demo-feed API key (shown once): {result.source_key}")
        else:
            self.stdout.write("Source system demo-feed exists; its key is unchanged (set one with --source-key).")
        self.stdout.write(f"Sample alerts created: {result.alerts_created}")
