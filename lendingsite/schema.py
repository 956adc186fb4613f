"""OpenAPI schema generation: names, request number formats and error responses.

The schema is a contract that the fuzzing suite (``reliability/fuzz.py``) holds the
service to: every status the service can answer is documented, and every input the
service accepts is valid under the schema.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated

from lendingsite import serializers as serializer_patterns


class ErrorOutputSerializer(serializers.Serializer):
    """Every error: a readable ``detail``, a machine ``code``; field errors by field name.

    Field errors are further properties named after the fields, each a list of messages.
    """

    detail = serializers.CharField()
    code = serializers.CharField()


ERROR_DESCRIPTIONS = {
    400: "Invalid input (field errors under the field names), or a refusal by a business "
    "rule; `code` names the rule.",
    401: "Missing, malformed, expired or forged token, or wrong credentials. "
    "`WWW-Authenticate: Bearer`.",
    403: "The caller's role may not do this.",
    404: "No such object, or not one the caller may see.",
    406: "The Accept header names no type the operation answers with.",
    409: "The object's state does not allow this, or a request with the same idempotency "
    "key is still running (`Retry-After`).",
    413: "The request body is too large.",
    414: "The request line (URL and query string) is too long; answered by the WSGI "
    "server (gunicorn) before the application, as HTML.",
    415: "Unsupported content type.",
    422: "The idempotency key was already used with a different request body.",
    429: "Too many requests, or too many failed logins (`Retry-After`).",
    503: "The database cannot be reached; nothing was changed (`Retry-After`).",
}

# Numbers in request bodies: a JSON number or a plain numeric string.
DECIMAL_STRING = serializer_patterns.DECIMAL_STRING.pattern
INTEGER_STRING = serializer_patterns.INTEGER_STRING.pattern


class JWTClaimsScheme(SimpleJWTScheme):
    """The bearer scheme of views that trust the token's claims (same token, same header)."""

    target_class = "accounts.authentication.JWTClaimsAuthentication"
    name = "jwtClaimsAuth"


class AutoSchema(SpectacularAutoSchema):
    """The project's schema generator.

    - a serializer nested in a view is named after the view (``LoginApi.InputSerializer``
      becomes ``LoginInput``): views declare their own ``InputSerializer`` classes, so the
      bare class names repeat across the API;
    - numbers in request bodies are documented as the number or numeric string that the
      service accepts (range and precision are checked by the service, with a 400);
    - every operation documents the errors it can answer, from what the view declares:
      its method, permissions, path parameters and ``error_statuses`` (extra statuses a
      view's business rules produce, e.g. ``(404, 409)``).
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(getattr(serializer, "Meta", None), "ref_name", None):
            owner = qualname.split(".")[0].removesuffix("Api")
            name = owner + name
        return name

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        if isinstance(field, serializers.DecimalField):
            # The service's own limits on digits: leading zeros do not count.
            whole, places = field.max_whole_digits, field.decimal_places
            pattern = (
                rf"^[+-]?0*[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
                if whole is not None and places is not None
                else DECIMAL_STRING
            )
            bounds = {
                name: float(value)
                for name, value in (("minimum", field.min_value), ("maximum", field.max_value))
                if value is not None
            }
            return self._number_or_string({**schema, **bounds}, "number", pattern, "decimal")
        if isinstance(field, serializers.IntegerField):
            return self._number_or_string(schema, "integer", INTEGER_STRING, None)
        return schema

    @staticmethod
    def _number_or_string(schema: dict, number_type: str, pattern: str, fmt: str | None) -> dict:
        number = {"type": number_type}
        for bound in ("minimum", "maximum"):
            if bound in schema:
                number[bound] = schema[bound]
        string = {"type": "string", "pattern": pattern}
        if fmt:
            string["format"] = fmt
        keep = {k: v for k, v in schema.items() if k in ("description", "default", "readOnly")}
        return {"oneOf": [number, string], **keep}

    def _error_statuses(self) -> set[int]:
        view = self.view
        # A bad token is refused everywhere, everything is throttled, the WSGI server
        # refuses an over-long request line before the application sees it, and without
        # its database the service answers 503.
        statuses = {401, 414, 429, 503}
        permissions = getattr(view, "permission_classes", [])
        if any(p not in (AllowAny, IsAuthenticated) for p in permissions):
            statuses.add(403)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses |= {400, 413, 415}
        parameters = self._get_parameters()
        if any(p.get("in") == "path" for p in parameters):
            statuses.add(404)
        if any(p.get("in") == "query" for p in parameters):
            statuses.add(400)
        statuses |= set(getattr(view, "error_statuses", ()))
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in sorted(self._error_statuses()):
            code = str(status)
            if code in responses:
                continue
            if status == 414:
                response = self._get_response_for_code(
                    OpenApiTypes.STR, code, media_types=["text/html"]
                )
            else:  # errors are JSON, even where the operation also answers with a PDF
                response = self._get_response_for_code(
                    ErrorOutputSerializer, code, media_types=["application/json"]
                )
            response["description"] = ERROR_DESCRIPTIONS[status]
            responses[code] = response
        return responses
