"""The x-api-key check: every key compared in constant time; no key configured, no API."""

from __future__ import annotations

import hashlib
import hmac
import logging

from controller.api.errors import ApiError

log = logging.getLogger("callflow.api")

HEADER = "x-api-key"
HOW_TO_SET = (
    "set api_keys in the config file (a list) and send the controller SIGHUP, or "
    "CALLFLOW_API_KEYS (comma-separated) in its environment and restart it"
)


def _digest(key: bytes) -> bytes:
    # Comparing fixed-length digests keeps even a key's length from leaking through timing.
    return hashlib.sha256(key).digest()


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self._digests = [_digest(key.encode("utf-8")) for key in keys]

    def __len__(self) -> int:
        return len(self._digests)

    def check(self, presented: str | None) -> None:
        """Raise 503 when no key is configured (the API is never open by default), 401 for a
        missing or wrong key. Every configured key is compared, whichever matches."""
        if not self._digests:
            raise ApiError(503, f"the API is disabled: no API key is configured; {HOW_TO_SET}")
        if not presented:
            raise ApiError(401, f"missing {HEADER} header")
        # WSGI gives header values as latin-1 text: back to the bytes the client sent.
        given = _digest(presented.encode("latin-1", errors="replace"))
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(given, digest)
        if not matched:
            log.info("API request refused: wrong %s", HEADER)
            raise ApiError(401, f"wrong {HEADER}")
