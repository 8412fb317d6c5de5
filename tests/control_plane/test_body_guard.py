"""The JSON body guard's own rules, on bytes as they arrive (the HTTP behaviour is in
test_bad_input_matrix.py)."""

from __future__ import annotations

import pytest

from control_plane.lib.body_guard import MAX_JSON_DEPTH, json_body_problem


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"text": "a\\u0000b"}', "NUL"),
        (b'{"text": "a\\\\\\u0000b"}', "NUL"),  # an escaped backslash, then a real \u0000
        (b'{"text": "a\x00b"}', "NUL"),
        (b'{"text": "caf\xe9"}', "UTF-8"),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "nested"),
    ],
)
def test_bodies_that_cannot_be_handled_are_named(body: bytes, problem: str) -> None:
    found = json_body_problem(body)
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "a literal \\\\u0000 is only text"}',  # backslash escaped: the text says \u0000
        b'{"text": "brackets [[[[ inside {{{{ strings do not nest"}',
        b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,
        '{"text": "caf\u00e9 \U0001f600"}'.encode(),
        b"",
    ],
)
def test_ordinary_bodies_pass(body: bytes) -> None:
    assert json_body_problem(body) is None
