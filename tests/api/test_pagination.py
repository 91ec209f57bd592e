"""The opaque cursor: round trip, version byte, kind, and refusal of anything else."""

import base64

import pytest

from service.api.pagination import CURSOR_VERSION, InvalidCursor, decode_cursor, encode_cursor


def test_round_trip_is_url_safe_and_unpadded():
    cursor = encode_cursor("stances", {"stated_at": "2022-05-16T00:00:00Z", "position": 12})
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor, kind="stances") == {
        "stated_at": "2022-05-16T00:00:00Z",
        "position": 12,
    }


def test_first_byte_is_the_version():
    raw = base64.urlsafe_b64decode(encode_cursor("k", {}) + "==")
    assert raw[0] == CURSOR_VERSION


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        base64.urlsafe_b64encode(b"\x02{}").decode(),
        base64.urlsafe_b64encode(b"\x01not json").decode(),
        base64.urlsafe_b64encode(b'\x01{"k": "stances", "v": 3}').decode(),
        encode_cursor("statements", {"p": 1}),
        "A" * 5000,
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor: str):
    with pytest.raises(InvalidCursor) as raised:
        decode_cursor(cursor, kind="stances")
    assert raised.value.status == 400
    assert raised.value.errors[0].field == "cursor"
