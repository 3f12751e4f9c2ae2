from __future__ import annotations

import pytest

from workflow.calendar import clear_calendar_cache
from workflow.deadlines import clear_policy_cache


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_calendar_cache()
    clear_policy_cache()
    yield
    clear_calendar_cache()
    clear_policy_cache()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The `people` fixture hashes 11 passwords; PBKDF2 at full strength costs ~2 s per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
