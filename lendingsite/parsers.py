from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing JSON nested too deeply to decode (400, not 500).

    ``json`` raises ``RecursionError`` (not a ``ValueError``) for a body such as
    ``[[[[…]]]]`` thousands of levels deep, which fits easily under the size limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
