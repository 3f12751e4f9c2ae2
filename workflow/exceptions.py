"""Domain errors raised by services; the API maps them to HTTP codes in one place
(`config.api.exception_handler`), the screens to messages."""


class WorkflowError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AlertNotFound(WorkflowError):
    """Out of scope and non-existent look the same: no hint that the alert exists."""

    status_code = 404
    code = "not_found"


class TransitionForbidden(WorkflowError):
    status_code = 403
    code = "forbidden"


class TransitionConflict(WorkflowError):
    status_code = 409
    code = "conflict"
