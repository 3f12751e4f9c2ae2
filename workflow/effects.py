"""Side effects of committed changes (notifications, webhooks). Called from
`transaction.on_commit`, so they never run for a change that was rolled back."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def transition_committed(*, alert_id: int, name: str, actor_id: int | None) -> None:
    logger.info("alert %s: %s by user %s", alert_id, name, actor_id)


def alerts_raised(*, alert_ids: list[int]) -> None:
    logger.info("%d alerts raised", len(alert_ids))
