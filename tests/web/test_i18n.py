"""Both catalogs ship complete, and the screens speak the language chosen."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale"


def _entries(po: Path) -> list[tuple[str, str]]:
    """(msgid, first msgstr) pairs of a .po file, without a third-party parser; a fuzzy entry
    (which msgfmt leaves out) counts as untranslated, obsolete `#~` entries are skipped."""
    entries, msgid, msgstr, field, fuzzy, was_fuzzy = [], None, None, None, False, False
    for raw in po.read_text("utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            if msgid is not None:
                entries.append((msgid, "" if was_fuzzy else (msgstr or "")))
            msgid, msgstr, field, was_fuzzy, fuzzy = line[7:-1], None, "id", fuzzy, False
        elif line.startswith("msgid_plural"):
            field = "plural"
        elif line.startswith("msgstr ") or line.startswith("msgstr[0]"):
            msgstr, field = line.split(" ", 1)[1][1:-1], "str"
        elif line.startswith("msgstr["):
            field = "other"
        elif line.startswith('"') and field == "id":
            msgid += line[1:-1]
        elif line.startswith('"') and field == "str":
            msgstr += line[1:-1]
    if msgid is not None:
        entries.append((msgid, "" if was_fuzzy else (msgstr or "")))
    return [(i, s) for i, s in entries if i]


def test_the_chinese_catalog_translates_every_string():
    entries = _entries(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    untranslated = [i for i, s in entries if not s]
    assert untranslated == []
    assert (LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo").stat().st_size > 10_000
    assert (LOCALE / "en" / "LC_MESSAGES" / "django.mo").exists()


def test_the_demo_defaults_to_chinese(people, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    body = client_for(people.kunshan_supervisor).get(reverse("web:dispatch")).content.decode()
    assert '<html lang="zh-hans">' in body
    assert "分办台" in body and "Dispatch board" not in body


def test_the_language_switcher_changes_the_screens(people, client_for, make_alert):
    make_alert(risk_level="red")
    c = client_for(people.kunshan_supervisor)
    c.post(reverse("set_language"), {"language": "zh-hans", "next": "/dispatch/"})
    assert "红色" in c.get(reverse("web:dispatch")).content.decode()
    c.post(reverse("set_language"), {"language": "en", "next": "/dispatch/"})
    body = c.get(reverse("web:dispatch")).content.decode()
    assert "Red" in body and "红色" not in body


def test_no_inline_scripts_or_handlers_on_any_screen(people, client_for, make_alert):
    """CSP-ready: scripts come from static files only."""
    import re

    alert = make_alert()
    pages = [
        (people.kunshan_supervisor, reverse("web:dispatch")), (people.kunshan_supervisor, reverse("web:disposal")),
        (people.kunshan_verifier, reverse("web:my_work")), (people.city_leader, reverse("web:evaluation")),
        (people.city_leader, reverse("web:dashboard")), (people.city_leader, reverse("web:alert_list")),
        (people.kunshan_supervisor, reverse("web:alert_detail", args=[alert.pk])),
    ]
    for user, url in pages:
        body = client_for(user).get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", body):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", body), url
        assert "javascript:" not in body, url
