"""文号 under concurrency, on real PostgreSQL: many supervisors issue documents at the same
instant; the numbers of one unit, kind and year run 1…n with no gap and no duplicate."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from alerts.states import ActionKind
from cases.models import NoticeNumbering, ResultAction
from tests.api.helpers import drive
from workflow import services as wf
from workflow.calendar import local

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_parallel_issuing_gives_gapless_unique_numbers(people, make_alert, org):
    assert connection.vendor == "postgresql"
    NoticeNumbering.objects.create(org_unit=org.kunshan, kind=ActionKind.WORK_NOTICE, pattern="昆纪提〔{year}〕{seq}号")
    n = 8
    alerts = [
        drive(make_alert(), "applying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
        for _ in range(n)
    ]
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def issue(i: int) -> None:
        try:
            barrier.wait()
            wf.alert_apply_results(
                alert_id=alerts[i].pk, by=people.kunshan_supervisor,
                actions=[
                    wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="某局", text="请整改"),
                    wf.ActionInput(kind=ActionKind.WORK_NOTICE, recipient="某镇", text="请注意"),
                ],
            )
        except BaseException as exc:  # noqa: BLE001 - the test reports what each thread got
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    notices = ResultAction.objects.filter(issuing_unit=org.kunshan, kind=ActionKind.WORK_NOTICE)
    seqs = sorted(notices.values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * n + 1))
    year = local(notices.first().created_at).year
    assert sorted(notices.values_list("doc_number", flat=True)) == sorted(
        f"昆纪提〔{year}〕{s}号" for s in range(1, 2 * n + 1)
    )


def test_a_failed_issue_returns_its_number(people, make_alert, org):
    """The counter moves in the issuing transaction: an issue that fails leaves no gap."""
    first = drive(make_alert(), "applying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    second = drive(make_alert(), "applying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
    good = wf.ActionInput(kind=ActionKind.RECOMMENDATION, recipient="某局", text="建议")
    # The second action is refused only inside the transaction (the verifier may not issue).
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
        wf.alert_apply_results(alert_id=first.pk, by=people.kunshan_verifier, actions=[good])
    wf.alert_apply_results(alert_id=second.pk, by=people.kunshan_supervisor, actions=[good])
    assert list(ResultAction.objects.filter(kind=ActionKind.RECOMMENDATION).values_list("seq", flat=True)) == [1]
