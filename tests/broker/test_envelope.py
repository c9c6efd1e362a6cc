"""Decoding requests: every malformed payload is a clear `bad_request`, never a crash."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.envelope import EnvelopeError, Request, decode_request, encode_error
from broker.errors import ErrorCode

LIMIT = 4096


def test_a_request_is_an_object_with_an_id() -> None:
    assert decode_request(b'{"id":"r-1","card":"04A1B2C3"}', max_bytes=LIMIT) == Request(
        "r-1", {"card": "04A1B2C3"}
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"{}", "id: required"),
        (b'{"id": 7}', "id: must be"),
        (b'{"id": ""}', "id: must be"),
        (b'{"id": "has space"}', "id: must be"),
        (b'{"id": "' + b"x" * 65 + b'"}', "id: must be"),
        (b'{"id": "r", "n": NaN}', "not valid JSON"),
        (b'{"id": "r", "a": ' + b"[" * 20 + b"]" * 20 + b"}", "nests deeper"),
        (b"[" * 100_000, "payload is"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        decode_request(payload, max_bytes=LIMIT)


def test_payload_over_the_limit_is_refused_before_parsing() -> None:
    payload = json.dumps({"id": "r", "pad": "x" * LIMIT}).encode()

    with pytest.raises(EnvelopeError, match="limit is 4096"):
        decode_request(payload, max_bytes=LIMIT)


@given(st.binary(max_size=512))
def test_no_bytes_make_the_decoder_fail_other_than_cleanly(payload: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        decode_request(payload, max_bytes=LIMIT)


def test_the_fingerprint_ignores_key_order() -> None:
    a = decode_request(b'{"id":"r","x":1,"y":2}', max_bytes=LIMIT)
    b = decode_request(b'{"y":2,"x":1,"id":"r"}', max_bytes=LIMIT)

    assert a.fingerprint == b.fingerprint


def test_error_answers_carry_code_message_and_extra_fields() -> None:
    body = json.loads(encode_error("r-1", ErrorCode.INSUFFICIENT_FUNDS, "no", paid_until="t"))

    assert body == {
        "id": "r-1",
        "ok": False,
        "error": "insufficient_funds",
        "message": "no",
        "paid_until": "t",
    }


def test_nesting_far_beyond_the_limit_is_a_clean_refusal_with_the_id() -> None:
    payload = b'{"id": "deep-1", "a": ' + b"[" * 850 + b"]" * 850 + b"}"

    with pytest.raises(EnvelopeError, match="nests deeper") as refused:
        decode_request(payload, max_bytes=LIMIT)

    assert refused.value.request_id == "deep-1"


def test_secret_fields_stay_out_of_the_fingerprint() -> None:
    with_pin = decode_request(b'{"id":"r","card":"04A1B2C3","pin":"1234"}', max_bytes=LIMIT)
    other_pin = decode_request(b'{"id":"r","card":"04A1B2C3","pin":"9999"}', max_bytes=LIMIT)
    without = decode_request(b'{"id":"r","card":"04A1B2C3"}', max_bytes=LIMIT)

    assert with_pin.fingerprint == other_pin.fingerprint == without.fingerprint


@pytest.mark.parametrize("digits", [41, 4000, 5000])
def test_a_number_with_too_many_digits_is_refused_with_the_id(digits: int) -> None:
    payload = b'{"id": "digits-1", "n": [-' + b"9" * digits + b"]}"

    with pytest.raises(EnvelopeError, match="more than 40 digits") as refused:
        decode_request(payload, max_bytes=2 * LIMIT)

    assert refused.value.request_id == "digits-1"


def test_a_40_digit_number_is_left_to_the_models_to_bound() -> None:
    request = decode_request(b'{"id": "r", "n": -' + b"9" * 40 + b"}", max_bytes=LIMIT)

    assert request.fields == {"n": -int("9" * 40)}
