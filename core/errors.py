"""Application errors: one hierarchy that every use case raises and that both faces map in one
place each — the API in `api.errors.exception_handler`, the screens in
`web.views.alerts.workflow_error_response`.

Field-level problems are Django's `ValidationError` (a dict of field → messages); these are the
rest: the thing is not there (or not yours to know about), not yours to do, or not possible now.
"""


class AppError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AppError):
    """Out of scope and non-existent look the same: no hint that the object exists."""

    status_code = 404
    code = "not_found"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    """The object is in a state where the action is not possible (someone else acted first)."""

    status_code = 409
    code = "conflict"
