"""Content negotiation: DRF's, answering the common case without parsing ``Accept``."""

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a shortcut for a request that takes the first renderer.

    Nearly every API call sends no ``Accept`` header, ``*/*`` or exactly the first
    renderer's media type, and no ``?format=``; for those DRF's answer is always the
    first renderer and its media type, reached after parsing and sorting the header's
    media types on every request (issue 16, docs/BENCHMARKS.md). Every other request,
    ``406 Not Acceptable`` included, goes through DRF unchanged.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix:
            first = renderers[0]
            accept = request.headers.get("accept", "*/*")
            if (accept == "*/*" or accept == first.media_type) and not request.query_params.get(
                self.settings.URL_FORMAT_OVERRIDE
            ):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
