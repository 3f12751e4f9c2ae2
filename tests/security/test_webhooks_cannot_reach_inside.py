"""Webhooks cannot reach inside: only https (http where a setting allows it), the resolved
address checked at connect time (no loopback, private, link-local, metadata …), the checked
address is the one connected to, and redirects are never followed."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.contrib.admin.sites import site
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from core import outbound
from core.outbound import UnsafeDestination, check_url, post_json
from tests.factories import UserFactory
from workflow.models import Delivery, OrgUnitWebhook
from workflow.notify import deliveries_send
from workflow.services import alert_assign

pytestmark = pytest.mark.django_db


class Server:
    """A local HTTP server that records what reaches it; answers `status` (and `location`)."""

    def __init__(self, status: int = 204, location: str = "") -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append(f"{self.command} {self.path} host={self.headers.get('Host')}")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def _send_for(org, people, make_alert, url: str) -> Delivery:
    OrgUnitWebhook.objects.create(org_unit=org.kunshan, url=url, secret="s")
    alert = make_alert(org_unit=org.kunshan)
    alert_assign(alert_id=alert.pk, by=people.kunshan_supervisor, assignee=people.kunshan_verifier)
    deliveries_send(ids=list(Delivery.objects.filter(channel="webhook").values_list("pk", flat=True)))
    return Delivery.objects.get(channel="webhook")


def test_a_webhook_to_the_servers_own_loopback_is_never_posted(settings, server, org, people, make_alert):
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True  # even with http allowed, loopback is not
    delivery = _send_for(org, people, make_alert, server.url)
    assert server.hits == []
    assert delivery.state == "pending" and "inside" in delivery.last_error


def test_a_name_that_resolves_to_loopback_is_refused(settings, server, org, people, make_alert, monkeypatch):
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    monkeypatch.setattr(outbound.socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))])
    delivery = _send_for(org, people, make_alert, f"http://hooks.example.org:{server.port}/hook")
    assert server.hits == []
    assert "inside" in delivery.last_error


def test_a_redirect_is_not_followed(settings, org, people, make_alert):
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    settings.HUOYAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # a receiver on the office network
    inner = Server()
    outer = Server(status=302, location=inner.url)
    try:
        delivery = _send_for(org, people, make_alert, outer.url)
        assert len(outer.hits) == 1 and inner.hits == []
        assert "HTTP 302" in delivery.last_error and delivery.state == "pending"
    finally:
        inner.close()
        outer.close()


def test_an_allowed_receiver_gets_the_post(settings, server, org, people, make_alert):
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    settings.HUOYAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    delivery = _send_for(org, people, make_alert, server.url)
    assert delivery.state == "sent" and server.hits[0].startswith("POST /hook")


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.org/x",
    "http://hooks.example.org/x",  # plain http, not allowed by the setting
    "file:///etc/passwd",
    "gopher://hooks.example.org/",
    "https://127.0.0.1/x",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.1.2.3/x",
    "https://192.168.0.10/x",
    "https://172.16.5.4/x",
    "https://100.64.0.1/x",
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
    "https://240.0.0.1/x",
    "https://localhost/x",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://user:pw@hooks.example.org/x",
])
def test_obviously_bad_addresses_are_refused(url):
    with pytest.raises(UnsafeDestination):
        check_url(url, resolve=False)
    with pytest.raises(UnsafeDestination):
        post_json(url, b"{}", headers={}, timeout=1)


def test_http_passes_only_where_the_setting_allows_it(settings):
    with pytest.raises(UnsafeDestination):
        check_url("http://93.184.216.34/x", resolve=False)
    settings.HUOYAN_WEBHOOK_ALLOW_HTTP = True
    check_url("http://93.184.216.34/x", resolve=False)


def test_the_checked_address_is_the_one_connected_to_so_rebinding_cannot_pass(monkeypatch):
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []
    connected: list[tuple] = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def fake_connect(address, timeout=None, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(outbound.socket, "create_connection", fake_connect)
    with pytest.raises(ConnectionRefusedError):
        post_json("https://rebind.example.org/hook", b"{}", headers={}, timeout=1)
    assert lookups == ["rebind.example.org"]  # resolved once
    assert connected == [("93.184.216.34", 443)]  # and connected to what was checked


def test_a_name_resolving_to_any_inside_address_is_refused(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeDestination):
        post_json("https://mixed.example.org/hook", b"{}", headers={}, timeout=1)


def test_the_admin_form_refuses_an_internal_webhook_address(org):
    assert OrgUnitWebhook in site._registry
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    r = client.post(reverse("admin:workflow_orgunitwebhook_add"), {
        "org_unit": org.kunshan.pk, "url": "http://127.0.0.1:8000/admin/", "secret": "s", "is_active": "on",
    })
    assert r.status_code == 200 and r.context["adminform"].form.errors["url"]
    assert not OrgUnitWebhook.objects.exists()
