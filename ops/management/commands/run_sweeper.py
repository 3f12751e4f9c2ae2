import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from assessment.reports import reports_due
from assessment.unit_escalation import unit_escalations_sweep
from screening.services import run_due_scheduled_models
from workflow.export_jobs import export_jobs_sweep
from workflow.sweep import sweep


class Command(BaseCommand):
    help = _(
        "Sweep deadlines and start scheduled screening runs every N seconds in the foreground: the "
        "embedded default's stand-in for Celery beat + worker (no Redis needed). Production runs "
        "`celery -A config beat` instead."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--interval", type=float, default=60.0, help=_("Seconds between sweeps (default 60)."))
        parser.add_argument("--once", action="store_true", help=_("Sweep once and exit."))

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        stopping = False

        def stop(*_args):  # type: ignore[no-untyped-def]
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            close_old_connections()
            try:
                report = sweep()
            except Exception as exc:  # noqa: BLE001 - keep sweeping; the next run retries
                self.stderr.write(_("sweep failed: %(error)s") % {"error": exc})
            else:
                if report.approaching or any(report.steps.values()) or report.deliveries.get("sent"):
                    for line in report.lines():
                        self.stdout.write(line)
            try:
                # Scheduled screening models too: beat's other job when there is no beat.
                started = run_due_scheduled_models()
            except Exception as exc:  # noqa: BLE001 - keep going; the next round retries
                self.stderr.write(_("scheduled screening runs failed: %(error)s") % {"error": exc})
            else:
                if started:
                    self.stdout.write(_("%(n)d scheduled screening runs started") % {"n": len(started)})
            try:
                # Unit-level escalation and scheduled analysis reports: beat's jobs too.
                now = timezone.now()
                notices = unit_escalations_sweep(now=now)
                reports = reports_due(now=now)
            except Exception as exc:  # noqa: BLE001 - keep going; the next round retries
                self.stderr.write(_("assessment jobs failed: %(error)s") % {"error": exc})
            else:
                if notices or reports:
                    self.stdout.write(_("%(n)d unit supervision notices, %(r)d scheduled reports")
                                      % {"n": notices, "r": reports})
            try:
                # Background exports: expired files deleted, interrupted ones failed, lost ones
                # started again (in a thread of this process when there is no worker).
                exports = export_jobs_sweep()
            except Exception as exc:  # noqa: BLE001 - keep going; the next round retries
                self.stderr.write(_("export clean-up failed: %(error)s") % {"error": exc})
            else:
                if any(exports.values()):
                    self.stdout.write(_("exports: %(expired)d expired, %(stale)d interrupted, %(requeued)d restarted")
                                      % exports)
            if options["once"]:
                break
            deadline = time.monotonic() + options["interval"]
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.5)
