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


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    # Assertions on text are written in English; the Chinese screens are exercised in the
    # browser tests and in test_i18n.
    settings.LANGUAGE_CODE = "en"
    # Eleven users per test: a fast hasher keeps the setup cheap (nothing here tests hashing).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
