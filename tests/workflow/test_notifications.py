"""Outbox deliveries: signed webhooks retried with backoff, email, and a broker outage that
loses nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from workflow.models import Delivery, Notification, OrgUnitWebhook
from workflow.notify import deliveries_send
from workflow.services import alert_assign

SECRET = "s3cret-for-tests"


class Hook:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict, str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((body, self.headers.get("X-Huoyan-Signature", "")))
                code = 500 if len(hook.received) <= hook.fail_first else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(settings):
    # A receiver on this machine: allowed here only because the test says so (core.outbound).
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    settings.HUOYAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    h = Hook(fail_first=1)
    yield h
    h.close()


@pytest.mark.django_db
def test_it_posts_a_signed_webhook_and_retries_it_with_backoff(hook, org, make_alert, people):
    OrgUnitWebhook.objects.create(org_unit=org.kunshan, url=hook.url, secret=SECRET)
    alert = make_alert(org_unit=org.kunshan_office)  # the nearest webhook up the tree is used
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.office_verifier)
    delivery = Delivery.objects.get(channel="webhook")

    assert deliveries_send(ids=[delivery.pk]) == {"sent": 0, "failed": 0, "retry": 1}
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.attempts == 1 and "500" in delivery.last_error
    # Not due yet: the backoff holds it back.
    assert deliveries_send(now=timezone.now())["sent"] == 0
    assert deliveries_send(now=timezone.now() + timedelta(seconds=31))["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.state == "sent" and delivery.attempts == 2

    body, signature = hook.received[-1]
    assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["event"] == "assigned" and payload["alert"]["id"] == alert.pk
    assert payload["recipients"] == ["office_verifier"]
    # Sent once: a later sweep does not send it again.
    assert deliveries_send(now=timezone.now() + timedelta(hours=1))["sent"] == 0
    assert len(hook.received) == 2


@pytest.mark.django_db
def test_it_gives_up_after_the_last_attempt(make_alert, people, org, settings):
    settings.HUOYAN_DELIVERY_MAX_ATTEMPTS = 2
    OrgUnitWebhook.objects.create(org_unit=org.kunshan, url="http://127.0.0.1:9/nothing", secret=SECRET)
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    later = timezone.now() + timedelta(hours=2)
    deliveries_send(now=later)
    deliveries_send(now=later + timedelta(hours=2))
    assert Delivery.objects.get(channel="webhook").state == "failed"


@pytest.mark.django_db
def test_it_emails_users_with_an_address(make_alert, people, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people.kunshan_verifier.email = "verifier@example.org"
    people.kunshan_verifier.save()
    alert = make_alert()
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    assert deliveries_send(now=timezone.now() + timedelta(minutes=2))["sent"] == 1
    assert mail.outbox[0].to == ["verifier@example.org"]
    assert str(alert.pk) in mail.outbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_commits_the_change_and_the_sweep_sends_later(make_alert, people, org, settings, caplog):
    """Redis down at commit time: the transition still commits (no error to the user), the
    delivery stays pending, and the next sweep sends it."""
    from config.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people.kunshan_verifier.email = "verifier@example.org"
    people.kunshan_verifier.save()
    alert = make_alert()
    good_url = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    app.pool.force_close_all()
    app.amqp._producer_pool = None
    try:
        alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    finally:
        app.conf.broker_url = good_url
        app.pool.force_close_all()
        app.amqp._producer_pool = None
    assert "could not enqueue" in caplog.text
    alert.refresh_from_db()
    assert alert.status == "assigned"
    assert Notification.objects.filter(recipient=people.kunshan_verifier, kind="assigned").count() == 1
    assert Delivery.objects.get().state == "pending"
    from workflow.sweep import sweep

    report = sweep(now=timezone.now() + timedelta(minutes=2))
    assert report.deliveries["sent"] == 1
    assert Delivery.objects.get().state == "sent" and len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_post_each_delivery_once(org, settings):
    from django.db import connections

    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    settings.HUOYAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    hook = Hook()
    try:
        webhook = OrgUnitWebhook.objects.create(org_unit=org.kunshan, url=hook.url, secret=SECRET)
        now = timezone.now()
        Delivery.objects.bulk_create(
            Delivery(channel="webhook", webhook=webhook, address=hook.url, payload={"n": i},
                     created_at=now, next_attempt_at=now)
            for i in range(30)
        )

        def run() -> None:
            try:
                deliveries_send(now=now + timedelta(seconds=1), limit=5)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(json.loads(body)["n"] for body, _ in hook.received) == list(range(30))
        assert Delivery.objects.filter(state="sent", attempts=1).count() == 30
    finally:
        hook.close()
