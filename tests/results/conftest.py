from __future__ import annotations

import pytest
from django.test import Client

from tests.api.helpers import drive


@pytest.fixture
def applying(make_alert, people):
    """An alert awaiting use of results in 昆山."""
    return drive(make_alert(), "applying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)


@pytest.fixture
def client_for(db):
    """`client_for(user)` → a Django test client logged in as `user`."""

    def make(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make
