from __future__ import annotations

import pytest

from tests.api.helpers import drive


@pytest.fixture
def applying(make_alert, people):
    """An alert awaiting use of results in 昆山."""
    return drive(make_alert(), "applying", supervisor=people.kunshan_supervisor, verifier=people.kunshan_verifier)
