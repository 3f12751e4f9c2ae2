"""Screens stay small when a record grows long: an alert's timeline shows the latest entries and
loads the rest on demand; the dispatch board looks up returns for the rows it shows only."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import TimelineEntry


def _long_timeline(alert, n: int) -> None:
    t0 = timezone.now() - timedelta(days=30)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(alert=alert, at=t0 + timedelta(minutes=i), kind="comment", text=f"跟进第{i}次")
        for i in range(n))


def test_a_long_timeline_shows_the_latest_hundred_and_loads_the_rest_on_demand(people, make_alert, client_for):
    alert = make_alert()
    _long_timeline(alert, 150)
    c = client_for(people.kunshan_supervisor)
    body = c.get(reverse("web:alert_detail", args=[alert.pk])).content.decode()
    assert body.count("跟进第") == 100
    assert "跟进第149次" in body and "跟进第49次<" not in body
    assert 'data-testid="timeline-more"' in body and "150" in body
    more = c.get(reverse("web:alert_timeline", args=[alert.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert more.count("跟进第") == 150 and 'data-testid="timeline-more"' not in more
    # Without JavaScript the link shows the whole timeline on the page itself.
    whole = c.get(reverse("web:alert_detail", args=[alert.pk]) + "?timeline=all").content.decode()
    assert whole.count("跟进第") == 150


def test_a_short_timeline_is_shown_whole_without_a_show_all_link(people, make_alert, client_for):
    alert = make_alert()
    _long_timeline(alert, 3)
    body = client_for(people.kunshan_supervisor).get(reverse("web:alert_detail", args=[alert.pk])).content.decode()
    assert body.count("跟进第") == 3 and 'data-testid="timeline-more"' not in body


def test_the_timeline_fragment_is_scoped(people, make_alert, org, client_for):
    theirs = make_alert(org_unit=org.changshu)
    r = client_for(people.kunshan_supervisor).get(reverse("web:alert_timeline", args=[theirs.pk]),
                                                  HTTP_HX_REQUEST="true")
    assert r.status_code == 404


def test_the_dispatch_board_costs_the_same_queries_however_many_alerts_were_returned(
        people, make_alert, client_for):
    from workflow.services import alert_assign, alert_return

    def returned_one() -> None:
        a = make_alert()
        alert_assign(alert_id=a.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
        alert_return(alert_id=a.pk, by=people.kunshan_verifier, reason="不属于本单位")

    c = client_for(people.kunshan_supervisor)
    c.get(reverse("web:dispatch"))  # the first page of a session refreshes its expiry
    returned_one()
    with CaptureQueriesContext(connection) as few:
        body = c.get(reverse("web:dispatch")).content.decode()
    assert "不属于本单位" in body
    for _ in range(4):
        returned_one()
    with CaptureQueriesContext(connection) as many:
        assert c.get(reverse("web:dispatch")).content.decode().count("不属于本单位") == 5
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_session_is_saved_when_it_needs_a_new_expiry_not_on_every_page(people, client_for, settings):
    from django.contrib.sessions.models import Session

    settings.SESSION_REFRESH_SECONDS = 300
    c = client_for(people.kunshan_supervisor)
    c.get(reverse("web:my_work"))
    key = c.cookies[settings.SESSION_COOKIE_NAME].value
    first = Session.objects.get(session_key=key).expire_date
    Session.objects.filter(session_key=key).update(expire_date=first - timedelta(seconds=60))
    with CaptureQueriesContext(connection) as ctx:
        c.get(reverse("web:my_work"))
    assert not any("django_session" in q["sql"] and q["sql"].startswith("UPDATE") for q in ctx.captured_queries)
    assert Session.objects.get(session_key=key).expire_date == first - timedelta(seconds=60)
    # Once the refresh interval has passed, the next page pushes the expiry back.
    settings.SESSION_REFRESH_SECONDS = 0
    c.get(reverse("web:my_work"))
    assert Session.objects.get(session_key=key).expire_date > first - timedelta(seconds=60)
