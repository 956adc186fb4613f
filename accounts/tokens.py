from rest_framework_simplejwt.tokens import RefreshToken


def token_pair_for(user) -> dict:
    """The seed system's token response: both tokens and the bearer type."""
    refresh = RefreshToken.for_user(user)
    refresh["role"] = user.role
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
    }
