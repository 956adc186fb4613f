"""Request bodies nested too deeply are refused alike on every Python version."""

import io

import pytest
from rest_framework.exceptions import ParseError

from lendingsite.parsers import MAX_JSON_DEPTH, JSONParser


def _nested(levels: int) -> bytes:
    # levels - 1 objects around one array: `levels` containers in all.
    return b'{"a":' * (levels - 1) + b"[1]" + b"}" * (levels - 1)


def test_a_body_at_the_depth_limit_is_parsed():
    data = JSONParser().parse(io.BytesIO(_nested(MAX_JSON_DEPTH)))

    for _ in range(MAX_JSON_DEPTH - 1):
        data = data["a"]
    assert data == [1]


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 5000])
def test_a_body_deeper_than_the_limit_is_refused_naming_the_problem(levels):
    with pytest.raises(ParseError, match="nested too deeply"):
        JSONParser().parse(io.BytesIO(_nested(levels)))
