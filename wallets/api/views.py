from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JWTClaimsAuthentication
from wallets.selectors import wallet_get_for_user


class WalletBalanceApi(APIView):
    # The hottest read: the token's claims identify the caller, so the only query is
    # the wallet's (trade-off in accounts/authentication.py).
    authentication_classes = [JWTClaimsAuthentication]

    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        balance = serializers.DecimalField(max_digits=14, decimal_places=2)
        currency = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        wallet = wallet_get_for_user(user=request.user)
        return Response(self.OutputSerializer(wallet).data)
