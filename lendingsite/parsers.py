from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request body of the API nests more than a few levels; anything deeper is refused.
MAX_JSON_DEPTH = 64
TOO_DEEP = "JSON parse error - the document is nested too deeply."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing JSON nested too deeply (400, not 500).

    How deep ``json`` can go depends on the Python version: 3.11 raises ``RecursionError``
    (not a ``ValueError``) for a body such as ``[[[[…]]]]`` thousands of levels deep,
    which fits easily under the size limit, while 3.13 decodes some of them. Both are
    refused alike: the decoder's ``RecursionError``, and any document deeper than
    ``MAX_JSON_DEPTH``.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


def _deeper_than(data, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
