"""Encryption of secrets at rest (Fernet; several keys rotate, the first one encrypts)."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipher:
    """Encrypts and decrypts what the database must not hold in clear: OAuth tokens, personal data."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._fingerprint_key = hashlib.sha256(b"b24app fingerprint\0" + keys[0].encode()).digest()

    def fingerprint(self, plain: str) -> str:
        """A keyed digest telling whether encrypted personal data changed, useless without the key."""
        return hmac.new(self._fingerprint_key, plain.encode(), hashlib.sha256).hexdigest()[:32]

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self.decrypt_bytes(token.encode()).decode()

    def encrypt_bytes(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
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
