from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.api.serializers import TokenOutputSerializer, UserOutputSerializer
from accounts.lockout import lockout_response
from accounts.services import user_register
from accounts.tokens import (
    VERSION_CLAIM,
    access_token_revoke,
    credentials_version,
    token_pair_for,
)
from lendingsite.parsers import JSONParser
from lendingsite.serializers import JsonTypedSerializer


def _token_response(user, *, status_code=status.HTTP_200_OK) -> Response:
    body = {**token_pair_for(user), "user": UserOutputSerializer(user).data}
    return Response(body, status=status_code)


class RegisterApi(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(JsonTypedSerializer):
        name = serializers.CharField(max_length=150)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Only the three named fields are read: a "role" or "is_staff" in the body is ignored.
        user = user_register(**serializer.validated_data)
        return _token_response(user, status_code=status.HTTP_201_CREATED)


class LoginApi(APIView):
    """Log in with JSON ``{email, password}`` or the OAuth2 password form (``username``)."""

    permission_classes = [AllowAny]
    # The OAuth2 password flow posts a form; every other endpoint takes JSON only.
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(JsonTypedSerializer):
        email = serializers.CharField(max_length=254, required=False)
        username = serializers.CharField(max_length=254, required=False)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

        def validate(self, attrs):
            login = attrs.get("email") or attrs.get("username")
            if not login:
                raise serializers.ValidationError({"email": ["This field is required."]})
            return {"login": login.strip(), "password": attrs["password"]}

    @extend_schema(request=InputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request,
            username=serializer.validated_data["login"],
            password=serializer.validated_data["password"],
        )
        refusal = getattr(django_request, "login_refusal", None)
        if refusal is not None:
            return lockout_response(refusal)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Incorrect email or password.")
        # Tokens replace a session, so announce the login ourselves (last_login).
        user_logged_in.send(sender=type(user), request=django_request, user=user)
        return _token_response(user)


class RefreshApi(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(JsonTypedSerializer):
        refresh_token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            old = RefreshToken(serializer.validated_data["refresh_token"])
            old.check_blacklist()
            user_id = old["user_id"]
        except (TokenError, KeyError) as exc:
            raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.") from exc
        from accounts.models import User

        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or old.get(VERSION_CLAIM) != credentials_version(user):
            # Gone, deactivated, or its password changed since the token was issued.
            raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.")
        # Rotation: a refresh token is good for one use. Of requests spending it at the
        # same moment, only the one whose blacklist row is created wins (UNIQUE token).
        _, spent_here = old.blacklist()
        if not spent_here:
            raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.")
        return _token_response(user)


class LogoutApi(APIView):
    class InputSerializer(JsonTypedSerializer):
        refresh_token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = RefreshToken(serializer.validated_data["refresh_token"])
        except TokenError as exc:
            raise exceptions.ValidationError(
                {"refresh_token": ["Token is invalid or expired."]}
            ) from exc
        if str(token.get("user_id")) != str(request.user.pk):
            raise exceptions.ValidationError({"refresh_token": ["Token belongs to another user."]})
        token.blacklist()
        access_token_revoke(request.auth)  # the access token in hand dies with the session
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)
