from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from wallets.selectors import wallet_get_for_user


class WalletBalanceApi(APIView):
    class OutputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()
        balance = serializers.DecimalField(max_digits=14, decimal_places=2)
        currency = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        wallet = wallet_get_for_user(user=request.user)
        return Response(self.OutputSerializer(wallet).data)
