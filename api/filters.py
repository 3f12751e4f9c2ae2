from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from accounts.selectors import filter_by_unit_code
from alerts.models import Alert, Domain, RiskLevel
from alerts.search import alerts_search
from alerts.states import Status
from alerts.tags import alerts_tagged
from alerts.validation import validate_sane_datetime
from cases.people import PERSON_FILTERS, alerts_with_people
from core.ids import parse_id


class AlertFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Status.choices, help_text=_("One or more states."))
    risk_level = filters.MultipleChoiceFilter(choices=RiskLevel.choices)
    domain = filters.MultipleChoiceFilter(choices=Domain.choices)
    org_unit = filters.CharFilter(
        method="filter_org_unit", help_text=_("Unit code; includes every unit below it.")
    )
    assignee = filters.CharFilter(method="filter_assignee", help_text=_("A user id, or `me`."))
    source = filters.CharFilter(field_name="source__code", help_text=_("Source system code."))
    rule = filters.CharFilter(field_name="rule_code")
    supervised = filters.BooleanFilter()
    tag = filters.CharFilter(method="filter_tag", help_text=_("Alerts carrying this tag (the whole tag)."))
    q = filters.CharFilter(
        method="filter_q",
        help_text=_("Search in title and subject. Inside ID and phone numbers only the visible digits match, "
                    "unless the whole number is given."),
    )
    created_after = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", validators=[validate_sane_datetime]
    )
    created_before = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", validators=[validate_sane_datetime]
    )
    ordering = filters.OrderingFilter(
        fields=(
            ("created_at", "created_at"),
            ("risk_rank", "risk"),
            ("due_at", "due_at"),
            ("stage_entered_at", "stage_entered_at"),
            ("amount", "amount"),
            ("id", "id"),
        ),
        help_text=_("created_at, risk, due_at, stage_entered_at, amount or id; prefix '-' to reverse."),
    )

    person = filters.ChoiceFilter(
        choices=[(p, p) for p in PERSON_FILTERS], method="filter_person",
        help_text=_("Drill-down of the people figures: alerts whose latest disposition dealt with someone "
                    "in that form (form_1 … form_4, none), or filed, detained or transferred."),
    )

    class Meta:
        model = Alert
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts_tagged(queryset, value)

    def filter_person(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts_with_people(queryset, value)

    def filter_org_unit(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return filter_by_unit_code(queryset, value)

    def filter_assignee(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        assignee_id = parse_id(value)
        if assignee_id is None:
            return queryset.none()
        return queryset.filter(assignee_id=assignee_id)

    def filter_q(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        # Searched as the reader sees the text (ID and phone numbers masked); a complete number
        # is matched exactly and audited (alerts.search).
        # `huoyan_search_indexed` is set by the alert list for a term found in more than 10,000 alerts.
        return alerts_search(queryset, value, user=self.request.user, request=self.request,
                             indexed=getattr(self.request, "huoyan_search_indexed", True))
