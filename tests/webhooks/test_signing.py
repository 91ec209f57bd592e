"""Standard Webhooks signatures: the specification's vector, and the reference receiver library."""

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.webhooks.signing import (
    InvalidSecret,
    InvalidSignature,
    generate_secret,
    sign,
    signature_header,
    verify,
    webhook_headers,
)

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_vector_is_reproduced_bit_for_bit() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_prefix_is_optional_on_input() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert sign(bare, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_generated_secrets_are_whsec_base64_of_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert len(base64.b64decode(generate_secret(24).removeprefix("whsec_"))) == 24
    with pytest.raises(ValueError):
        generate_secret(16)


@pytest.mark.parametrize(
    "secret",
    ["whsec_", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode(), ""],
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(InvalidSecret):
        sign(secret, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


def test_timestamps_must_be_whole_seconds() -> None:
    with pytest.raises(TypeError):
        sign(SPEC_SECRET, SPEC_ID, 1614265330.5, SPEC_BODY)  # type: ignore[arg-type]


def test_the_reference_library_accepts_our_headers() -> None:
    secret = generate_secret()
    body = b'{"type":"stance.changed","data":{"actor":"a"}}'
    now = int(time.time())
    headers = webhook_headers([secret], msg_id="msg_abc", timestamp=now, body=body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(body, headers) == {
        "type": "stance.changed",
        "data": {"actor": "a"},
    }


def test_during_rotation_both_secrets_sign_and_either_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"n":1}'
    now = int(time.time())
    headers = webhook_headers([old, new], msg_id="msg_rot", timestamp=now, body=body)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_the_reference_library_refuses_a_changed_body() -> None:
    secret = generate_secret()
    headers = webhook_headers([secret], msg_id="msg_x", timestamp=int(time.time()), body=b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":1}', headers)


def test_a_repeated_secret_signs_once() -> None:
    header = signature_header(
        [SPEC_SECRET, SPEC_SECRET], msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY
    )
    assert header == SPEC_SIGNATURE
    with pytest.raises(InvalidSecret):
        signature_header([], msg_id=SPEC_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_BODY)


def test_verify_accepts_the_vector_and_any_listed_secret() -> None:
    other = generate_secret()
    header = f"v2,abc v1,bm90IGl0 {SPEC_SIGNATURE}"
    verify(
        [other, SPEC_SECRET],
        msg_id=SPEC_ID,
        timestamp=str(SPEC_TIMESTAMP),
        body=SPEC_BODY,
        signatures=header,
        now=SPEC_TIMESTAMP + 10,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": b'{"test": 2432232315}'}, "no signature"),
        ({"msg_id": "msg_other"}, "no signature"),
        ({"signatures": "v1,!!!not-base64"}, "no signature"),
        ({"now": SPEC_TIMESTAMP + 301}, "tolerance"),
        ({"now": SPEC_TIMESTAMP - 301}, "tolerance"),
        ({"timestamp": "yesterday"}, "integer"),
    ],
)
def test_verify_refuses_tampering_and_stale_messages(
    changes: dict[str, object], message: str
) -> None:
    arguments = {
        "msg_id": SPEC_ID,
        "timestamp": SPEC_TIMESTAMP,
        "body": SPEC_BODY,
        "signatures": SPEC_SIGNATURE,
        "now": SPEC_TIMESTAMP,
    } | changes
    with pytest.raises(InvalidSignature, match=message):
        verify([SPEC_SECRET], **arguments)  # type: ignore[arg-type]
