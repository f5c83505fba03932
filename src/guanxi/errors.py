"""Domain errors, raised by services and turned into RFC 9457 problem details in one place."""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark a message for translation where it is written; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class FieldError:
    """One rejected input field: where it is and why, in words a user can act on."""

    field: str
    message: str


class GuanxiError(Exception):
    """Base of every error a user or client can cause; ``status`` is the HTTP status it maps to."""

    status = 400
    slug = "bad-request"
    title = N_("Bad request")
    # True when the work done before the error must still be committed (a failed sign-in is
    # recorded for throttling and audit even though the request itself fails)
    keeps_work = False

    def __init__(
        self, detail: str = "", *, errors: list[FieldError] | None = None, **params: object
    ) -> None:
        # ``detail`` is an English template marked with N_(); ``params`` fill it, so a page can
        # show the same message translated while the API answers in English
        self.template = detail or self.title
        self.params = params
        self.detail = self.template.format(**params) if params else self.template
        super().__init__(self.detail)
        self.errors = errors or []


class InvalidInput(GuanxiError):
    status = 422
    slug = "invalid-input"
    title = N_("Invalid input")


class NotAuthenticated(GuanxiError):
    status = 401
    slug = "not-authenticated"
    title = N_("Not authenticated")


class PermissionDenied(GuanxiError):
    status = 403
    slug = "permission-denied"
    title = N_("Permission denied")


class NotFound(GuanxiError):
    status = 404
    slug = "not-found"
    title = N_("Not found")


class Conflict(GuanxiError):
    status = 409
    slug = "conflict"
    title = N_("Conflict")


class Gone(GuanxiError):
    status = 410
    slug = "gone"
    title = N_("Gone")


class PreconditionFailed(GuanxiError):
    status = 412
    slug = "precondition-failed"
    title = N_("Precondition failed")


class TooManyRequests(GuanxiError):
    status = 429
    slug = "too-many-requests"
    title = N_("Too many requests")

    def __init__(
        self, detail: str = "", *, retry_after_seconds: int = 60, **params: object
    ) -> None:
        super().__init__(detail, errors=None, **params)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(GuanxiError):
    status = 503
    slug = "service-unavailable"
    title = N_("Service unavailable")
