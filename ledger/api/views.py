from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.selectors import business_date_get


class BusinessDateApi(APIView):
    """The business date: the day being traded, the value date of every money movement."""

    class OutputSerializer(serializers.Serializer):
        business_date = serializers.DateField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer({"business_date": business_date_get()}).data)
