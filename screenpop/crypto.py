"""Secrets at rest: a model field whose column holds Fernet ciphertext, never the value in clear.

The key comes from `settings.FIELD_ENCRYPTION_KEY` (comma-separated: the first encrypts, every key decrypts, so keys
can be rotated). A value that does not decrypt raises, rather than being shown or passed on as ciphertext.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

CIPHERTEXT_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys (32 url-safe base64 bytes)."
        ) from error


def encrypt(value: str) -> str:
    return CIPHERTEXT_PREFIX + _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(CIPHERTEXT_PREFIX):
        raise ImproperlyConfigured("An encrypted column holds a value that is not ciphertext.")
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(stored[len(CIPHERTEXT_PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A secret in the database does not decrypt with FIELD_ENCRYPTION_KEY: was the key changed?"
        ) from error


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the clear value. Not searchable or orderable."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
