from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from workflow.calendar import clear_calendar_cache
from workflow.calendar_sync import sync_calendar
from workflow.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = _("Copy holidays and make-up working days from the chinese_calendar package (admin edits are kept).")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        days, years = sync_calendar(day_model=CalendarDay, year_model=CalendarYear)
        clear_calendar_cache()
        self.stdout.write(_("%(days)d days written; %(years)d years covered.") % {"days": days, "years": years})
