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
