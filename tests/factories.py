"""Factories for every test, in one place."""

from __future__ import annotations

import factory
from django.db import transaction
from django.utils import timezone

from accounts.models import OrgUnit, Role, User
from alerts.models import Alert, RiskLevel, SourceSystem
from workflow import rollups

PASSWORD = "pass-for-tests-1"


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"unit{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    level = OrgUnit.Level.COUNTY
    parent = None
    path = factory.LazyAttribute(lambda o: f"{o.parent.path if o.parent else ''}{o.code}/")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Faker("name", locale="zh_CN")
    role = Role.VERIFIER
    org_unit = factory.SubFactory(OrgUnitFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class SourceSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceSystem
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"source{n}")
    name = factory.LazyAttribute(lambda o: f"System {o.code}")
    org_unit = factory.SubFactory(OrgUnitFactory)
    key_prefix = factory.Sequence(lambda n: f"p{n:07d}")
    key_hash = "0" * 64


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    title = factory.Sequence(lambda n: f"预警 {n}")
    risk_level = RiskLevel.ORANGE
    org_unit = factory.SubFactory(OrgUnitFactory)
    source = factory.SubFactory(SourceSystemFactory, org_unit=factory.SelfAttribute("..org_unit"))
    subject_name = factory.Faker("company", locale="zh_CN")
    dedup_key = factory.Sequence(lambda n: f"key-{n}")
    stage_entered_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # noqa: ANN001, ANN206
        # An alert made here counts on the dashboard like one raised through intake: the rollups
        # get its contribution. Tests that change rows behind the services' back afterwards call
        # `rollups.rebuild()` (what `manage.py recompute_rollups` does) before reading figures.
        with transaction.atomic():
            alert = super()._create(model_class, *args, **kwargs)
            rollups.apply(rollups.contribution(alert))
        return alert
