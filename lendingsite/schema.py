from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class JWTClaimsScheme(SimpleJWTScheme):
    """The bearer scheme of views that trust the token's claims (same token, same header)."""

    target_class = "accounts.authentication.JWTClaimsAuthentication"
    name = "jwtClaimsAuth"


class AutoSchema(SpectacularAutoSchema):
    """Name a serializer nested in a view after the view.

    ``LoginApi.InputSerializer`` becomes ``LoginInput``.

    Views declare their own ``InputSerializer``/``OutputSerializer`` classes, so the bare
    class names repeat across the API.
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(getattr(serializer, "Meta", None), "ref_name", None):
            owner = qualname.split(".")[0].removesuffix("Api")
            name = owner + name
        return name
