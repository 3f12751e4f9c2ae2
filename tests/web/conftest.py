from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def client_for(db):
    """`client_for(user)` → a Django test client logged in as `user`."""

    def make(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make

