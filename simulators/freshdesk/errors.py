"""The errors the simulated API answers with, in Freshdesk's two shapes, and Freshdesk's own words for them.

Validation errors (400) are `{"description": "Validation failed", "errors": [{"field", "message", "code"}]}`;
other errors are flat `{"code", "message"}` (reference §7). Messages are copied from FC `api/lib/error_messages.yml`
and codes from FC `ErrorConstants`, so a client sees the text the real server sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "FieldError",
    "flat_error",
    "not_found",
    "not_included",
    "validation_failed",
]

INVALID_FIELD = "Unexpected/invalid field in request"
MISSING_FIELD = "Mandatory attribute missing"
INVALID_CREDENTIALS = "You have to be logged in to perform this action."
INVALID_JSON = "Request body has invalid json format"
INTERNAL_ERROR = "We're sorry, but something went wrong."
MISSING_PARAMS = "Your update call does not have any parameter. Atleast one parameter is required."
PHONE_NEEDS_NAME = "It should not be blank if phone is only given"
USER_BLOCKED = "Has been blocked. No further tickets can be created for this user"
DATE_TIME_FORMAT = "It should be a valid date in the 'combined date and time ISO8601' format"
SEARCH_DATE_FORMAT = "It should be a valid date in the 'yyyy-mm-dd' format"
QUERY_FORMAT_INVALID = (
    "Given query is invalid, expected format \"keyword:value  OPERATOR keyword:'string' OPERATOR "
    "keyword:>'yyyy-mm-dd' OPERATOR keyword:<integer\". Space is mandatory between key/value pair and operator. "
    "Please check the paranthesis if there are any."
)


def per_page_invalid(maximum: int) -> str:
    return f"It should be a Positive Integer less than or equal to {maximum}"


def tickets_page_invalid(maximum: int) -> str:
    return f"You cannot access tickets beyond the {maximum}th page. Please provide a smaller page number."


def not_included(values: Iterable[Any], separator: str = ",") -> str:
    return f"It should be one of these values: '{separator.join(str(value) for value in values)}'"


def datatype_mismatch(expected: str, given: Any = None) -> str:
    """FC's `datatype_mismatch`, prefixed by `input_received` when the wrong value's type is known."""
    message = f"It should be a/an {expected}"
    if given is None:
        return message
    return f"Value set is of type {_json_type_name(given)}.{message}"


def absent_in_db(resource: str, attribute: str) -> str:
    return f"There is no {resource} matching the given {attribute}"


def fill_a_mandatory_field(field_names: str) -> str:
    return f"Please fill at least 1 of {field_names} fields"


def query_too_long(length: int, maximum: int) -> str:
    return f"Has {length} characters, it can have maximum of {maximum} characters"


def method_not_allowed(method: str, allowed: Iterable[str]) -> str:
    return f"{method} method is not allowed. It should be one of these method(s): {', '.join(allowed)}"


def invalid_content_type(content_type: str) -> str:
    return f"Content-Type header is set to {content_type}. It should be set to application/json"


def invalid_accept_header(accept: str) -> str:
    return f"Accept header is set to {accept}. It should have application/json or */*"


def require_feature(feature: str) -> str:
    return f"The {feature} feature(s) is/are not supported in your plan. Please upgrade your account to use it."


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "key/value pair"
    return "Null"


@dataclass(frozen=True)
class FieldError:
    """One entry of a validation error: which field, what is wrong, and Freshdesk's code for it."""

    field: str
    message: str
    code: str = "invalid_value"

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class ApiError(Exception):
    """An error response: HTTP status, JSON body (None for an empty body) and extra headers."""

    def __init__(self, status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def validation_failed(errors: Iterable[FieldError]) -> ApiError:
    return ApiError(400, {"description": "Validation failed", "errors": [error.to_json() for error in errors]})


def flat_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> ApiError:
    return ApiError(status, {"code": code, "message": message}, headers)


def not_found() -> ApiError:
    """Unknown path or id: 404 with an empty body (FC `head :not_found` in `ApiApplicationController`)."""
    return ApiError(404, None)
