from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JWTClaimsAuthentication
from accounts.permissions import IsBorrower
from idempotency.api import IDEMPOTENCY_KEY_HEADER, IdempotentApi
from lendingsite.db_router import replica_reads
from lendingsite.metrics import money_operation
from lendingsite.money import MoneyField
from lendingsite.serializers import MAX_ID, JsonTypedSerializer
from lendingsite.statements import (
    STATEMENT_PARAMETERS,
    StatementApi,
    StatementPeriodOutputSerializer,
    StatementPeriodSerializer,
)
from wallets.selectors import wallet_get_for_user, wallet_transaction_list
from wallets.services import wallet_deposit, wallet_withdraw
from wallets.statement_pdf import wallet_statement_filename, wallet_statement_pdf
from wallets.statements import wallet_statement

# Transactions per page: the seed's default, and the most one page holds.
DEFAULT_PAGE = 100
MAX_PAGE = 200


class WalletBalanceOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()


class WalletTransactionOutputSerializer(serializers.Serializer):
    """A posting on the wallet, in the seed system's transaction shape."""

    id = serializers.IntegerField()
    user_id = serializers.SerializerMethodField()
    amount = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    source = serializers.CharField(source="entry.kind")
    reference_id = serializers.CharField(source="entry.reference")
    description = serializers.CharField(source="entry.description")
    created_at = serializers.DateTimeField(source="entry.created_at")

    def get_user_id(self, posting) -> int:
        return self.context["user_id"]

    def get_amount(self, posting) -> str:
        return f"{abs(posting.amount):.2f}"

    def get_type(self, posting) -> str:
        return "CREDIT" if posting.amount > 0 else "DEBIT"


class WalletBalanceApi(APIView):
    """The caller's balance. Every user has a wallet, staff included (as in the seed)."""

    # The hottest read: the token's claims identify the caller and its role, so the only
    # query is the wallet's (trade-off in accounts/authentication.py).
    authentication_classes = [JWTClaimsAuthentication]

    @extend_schema(responses={200: WalletBalanceOutputSerializer})
    def get(self, request):
        wallet = wallet_get_for_user(user=request.user)
        return Response(WalletBalanceOutputSerializer(wallet).data)


class WalletTransactionListApi(APIView):
    """The wallet's history, newest first. Page with ``limit`` and ``before`` (an id).

    As in the seed: ``limit`` defaults to 100, and a larger one than the most a page
    holds is served as that most rather than refused. The next page's URL is in the
    ``Link`` header (``rel="next"``). Any signed-in user: every user has a wallet.
    """

    class FilterSerializer(JsonTypedSerializer):
        limit = serializers.IntegerField(min_value=1, default=DEFAULT_PAGE)
        before = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

        def validate_limit(self, value: int) -> int:
            return min(value, MAX_PAGE)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "limit",
                int,
                description=f"at least 1, default {DEFAULT_PAGE}; more than {MAX_PAGE} gives "
                f"{MAX_PAGE}",
            ),
            OpenApiParameter("before", int, description="only transactions with a smaller id"),
        ],
        responses={200: WalletTransactionOutputSerializer(many=True)},
    )
    @replica_reads()  # history tolerates replica lag (not right after the caller's write)
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        limit = filters.validated_data["limit"]
        postings = list(
            wallet_transaction_list(
                user=request.user, before_id=filters.validated_data.get("before")
            )[: limit + 1]
        )
        page = postings[:limit]
        data = WalletTransactionOutputSerializer(
            page, many=True, context={"user_id": request.user.pk}
        ).data
        response = Response(data)
        if len(postings) > limit:
            url = request.build_absolute_uri(reverse("wallet-transactions"))
            response["Link"] = f'<{url}?limit={limit}&before={page[-1].id}>; rel="next"'
        return response


class WalletTransferOutputSerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    reference_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()


class WalletTransferInputSerializer(JsonTypedSerializer):
    amount = MoneyField()
    idempotency_key = serializers.CharField(max_length=255, required=False)


class _WalletTransferApi(IdempotentApi):
    """Shared by deposits and withdrawals: validate, then move money once per key.

    Borrowers only: staff have a wallet (every user has one) but move no money through it.
    """

    permission_classes = [IsAuthenticated, IsBorrower]
    InputSerializer = WalletTransferInputSerializer
    service = None

    def perform(self, request, *, key, amount):
        entry = type(self).service(user=request.user, amount=amount, idempotency_key=key)
        wallet = wallet_get_for_user(user=request.user)
        body = WalletTransferOutputSerializer(
            {
                "transaction_id": entry.pk,
                "reference_id": entry.reference,
                "amount": amount,
                "balance": wallet.balance,
                "currency": wallet.currency,
            }
        ).data
        return body, entry


class WalletDepositApi(_WalletTransferApi):
    endpoint = "wallet.deposit"
    service = staticmethod(wallet_deposit)

    @extend_schema(
        request=WalletTransferInputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={201: WalletTransferOutputSerializer},
    )
    @money_operation("deposit")
    def post(self, request):
        return super().post(request)


class WalletWithdrawApi(_WalletTransferApi):
    endpoint = "wallet.withdraw"
    service = staticmethod(wallet_withdraw)

    @extend_schema(
        request=WalletTransferInputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={201: WalletTransferOutputSerializer},
    )
    @money_operation("withdrawal")
    def post(self, request):
        return super().post(request)


class WalletStatementOutputSerializer(serializers.Serializer):
    """A wallet's statement (``wallets.statements.wallet_statement``); the PDF reads the same."""

    class Line(serializers.Serializer):
        date = serializers.DateField(source="on")
        kind = serializers.CharField()
        description = serializers.CharField()
        reference = serializers.CharField()
        credit = serializers.DecimalField(max_digits=14, decimal_places=2)
        debit = serializers.DecimalField(max_digits=14, decimal_places=2)
        balance = serializers.DecimalField(max_digits=14, decimal_places=2)

        def to_representation(self, line) -> dict:
            """Written out directly (a statement has thousands): as the fields declare."""
            return {
                "date": line.on.isoformat(),
                "kind": line.kind,
                "description": line.description,
                "reference": line.reference,
                "credit": f"{line.credit:.2f}",
                "debit": f"{line.debit:.2f}",
                "balance": f"{line.balance:.2f}",
            }

    user_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    currency = serializers.CharField()
    business_date = serializers.DateField()
    period = StatementPeriodOutputSerializer()
    opening_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = Line(many=True)
    total_credit = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_debit = serializers.DecimalField(max_digits=14, decimal_places=2)
    closing_balance = serializers.DecimalField(max_digits=14, decimal_places=2)


class WalletStatementApi(StatementApi):
    """The caller's wallet statement for a period: JSON, or PDF (``?format=pdf``)."""

    error_statuses = (406,)

    @extend_schema(
        parameters=STATEMENT_PARAMETERS,
        responses={
            (200, "application/json"): WalletStatementOutputSerializer,
            (200, "application/pdf"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        period = StatementPeriodSerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        statement = wallet_statement(user=request.user, **period.validated_data)
        if self.wants_pdf():
            return self.pdf_response(
                wallet_statement_pdf(statement), filename=wallet_statement_filename(statement)
            )
        return Response(WalletStatementOutputSerializer(statement).data)
