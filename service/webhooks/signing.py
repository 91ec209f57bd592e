"""Standard Webhooks signatures, so receivers can verify with any of its libraries.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``: the id lets receivers drop
duplicates (delivery is at least once), the timestamp lets them refuse replays of old messages, and
the exact body bytes are signed, so the body must be sent exactly as signed.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import secrets as random_source
import time
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSecret(ValueError):
    """Not a ``whsec_`` secret of 24 to 64 base64-encoded bytes."""


class InvalidSignature(ValueError):
    """A message whose signature, timestamp or headers do not check out."""


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A new ``whsec_`` secret from the operating system's random source."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(f"secrets are {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(random_source.token_bytes(nbytes)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of the message under one secret."""
    mac = _keyed(secret).copy()
    mac.update(f"{msg_id}.{_timestamp_text(timestamp)}.".encode())
    mac.update(body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac.digest()).decode('ascii')}"


def signature_header(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated.

    During a secret rotation both the old and the new secret sign, so a receiver still holding
    either accepts the message.
    """
    if not secrets:
        raise InvalidSecret("at least one secret is needed to sign")
    unique = list(dict.fromkeys(secrets))
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in unique)


def webhook_headers(
    secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": _timestamp_text(timestamp),
        "webhook-signature": signature_header(
            secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }


def verify(
    secrets: Sequence[str],
    *,
    msg_id: str,
    timestamp: str | int,
    body: bytes,
    signatures: str,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received message as a receiver would; raises ``InvalidSignature`` if it fails.

    The timestamp must be within ``tolerance_seconds`` of ``now`` (replay protection), and at
    least one ``v1`` signature must match one of ``secrets``, compared in constant time.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        raise InvalidSignature("the webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        raise InvalidSignature("the webhook-timestamp is outside the tolerance")
    received = [
        _decode_signature(value)
        for version, _, value in (item.partition(",") for item in signatures.split())
        if version == SIGNATURE_VERSION
    ]
    for secret in secrets:
        expected = _decode_signature(sign(secret, msg_id, sent_at, body).partition(",")[2])
        if any(candidate and hmac.compare_digest(expected, candidate) for candidate in received):
            return
    raise InvalidSignature("no signature matches")


@functools.lru_cache(maxsize=1024)
def _keyed(secret: str) -> "hmac.HMAC":
    """An HMAC already keyed with the secret, to copy per message: a worker signs every message
    of a subscriber with the same one or two secrets, and decoding and keying were half the cost.
    """
    return hmac.new(_secret_key(secret), digestmod=hashlib.sha256)


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("the secret is not valid base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSecret(f"the secret must be {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return key


def _timestamp_text(timestamp: int) -> str:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("the timestamp is whole seconds since the epoch, as an int")
    return str(timestamp)


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""
