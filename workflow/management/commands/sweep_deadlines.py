from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _

from workflow.calendar import TZ
from workflow.sweep import sweep


class Command(BaseCommand):
    help = _("Run one deadline sweep (the same code as the beat task) and print what it did.")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--at", help=_("Sweep as of this ISO datetime (local time if no offset); default now."))
        parser.add_argument("--no-deliveries", action="store_true", help=_("Do not retry pending deliveries."))

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        at = None
        if options["at"]:
            at = parse_datetime(options["at"])
            if at is None:
                raise CommandError(_("--at must be an ISO datetime, e.g. 2026-10-09T09:00:00+08:00"))
            if is_naive(at):
                at = make_aware(at, TZ)
        report = sweep(now=at, deliveries=not options["no_deliveries"])
        for line in report.lines():
            self.stdout.write(line)
