"""Encryption of secrets at rest (Fernet; several keys rotate, the first one encrypts)."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    """Encrypts and decrypts OAuth tokens stored in the database."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc


def secret_digest(secret: str) -> str:
    """A one-way digest for secrets we only compare (the application_token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digest_matches(secret: str, digest: str | None) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    if not secret or not digest:
        return False
    return hmac.compare_digest(secret_digest(secret), digest)
