from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JWTClaimsAuthentication
from accounts.permissions import IsBorrower, IsOfficer
from idempotency.api import (
    IDEMPOTENCY_KEY_HEADER,
    IdempotentApi,
    optionally_idempotent_response,
)
from ledger.selectors import business_date_get
from lendingsite.db_router import replica_reads
from lendingsite.http import client_ip
from lendingsite.metrics import money_operation
from lendingsite.money import MoneyField
from lendingsite.serializers import MAX_ID, JsonTypedSerializer, representation
from lendingsite.statements import (
    STATEMENT_PARAMETERS,
    StatementApi,
    StatementPeriodSerializer,
)
from loans.api.serializers import (
    InstallmentOutputSerializer,
    LoanOutputSerializer,
    LoanStatementOutputSerializer,
    PayoffQuoteOutputSerializer,
    PendingConfirmationSerializer,
    RecoveryOutputSerializer,
    RepaymentOutputSerializer,
    ScheduleVersionOutputSerializer,
    ScheduleVersionRowOutputSerializer,
    WriteOffOutputSerializer,
    loan_output,
    quote_output,
)
from loans.models import LoanRecovery, OfficerActionRequest, Repayment
from loans.reversals import recovery_reverse, repayment_reverse
from loans.schedule import InterestMethod
from loans.selectors import (
    installment_list,
    loan_get_visible,
    loan_list_for_borrower,
    loan_list_pending,
    payoff_quote_get,
    repayment_list,
    schedule_version_list,
    schedule_version_rows,
)
from loans.services import (
    loan_apply,
    loan_approve,
    loan_fee_waive,
    loan_foreclose,
    loan_quote_cached,
    loan_reject,
    loan_repay,
    loan_write_off,
)
from loans.statement_pdf import loan_statement_filename, loan_statement_pdf
from loans.statements import loan_statement


class LoanTermsInputSerializer(JsonTypedSerializer):
    """Shape and precision only; the product's limits are eligibility rules (services)."""

    principal_amount = MoneyField(max_value=settings.LOAN_MAX_PRINCIPAL * 1000)
    tenure_months = serializers.IntegerField(min_value=1, max_value=1200)
    interest_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, required=False
    )
    interest_method = serializers.ChoiceField(
        choices=[m.value for m in InterestMethod], required=False
    )
    product = serializers.CharField(
        max_length=32, required=False, help_text="a loan product's code; STANDARD if absent"
    )


class ScheduleRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.DecimalField(max_digits=12, decimal_places=2)
    interest = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    remaining_principal = serializers.DecimalField(max_digits=12, decimal_places=2)


class LoanCalculateEmiApi(APIView):
    # A quote is arithmetic on the request alone: with the token's claims trusted it runs
    # no query at all (trade-off in accounts/authentication.py).
    authentication_classes = [JWTClaimsAuthentication]

    class OutputSerializer(serializers.Serializer):
        emi_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
        total_interest = serializers.DecimalField(max_digits=12, decimal_places=2)
        total_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
        tenure_months = serializers.IntegerField()
        schedule = ScheduleRowSerializer(many=True, source="installments")

    @extend_schema(request=LoanTermsInputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        terms = LoanTermsInputSerializer(data=request.data)
        terms.is_valid(raise_exception=True)
        priced = loan_quote_cached(**terms.validated_data)
        return Response(quote_output(priced))


class LoanApplyApi(APIView):
    permission_classes = [IsAuthenticated, IsBorrower]

    @extend_schema(request=LoanTermsInputSerializer, responses={201: LoanOutputSerializer})
    def post(self, request):
        terms = LoanTermsInputSerializer(data=request.data)
        terms.is_valid(raise_exception=True)
        loan = loan_apply(
            borrower=request.user, client_ip=client_ip(request), **terms.validated_data
        )
        return Response(loan_output(loan), status=status.HTTP_201_CREATED)


class LoanMyListApi(APIView):
    """The caller's own loans, whatever the role (as in the seed: an officer has none)."""

    @extend_schema(responses={200: LoanOutputSerializer(many=True)})
    @replica_reads()  # a list: may lag, except right after the caller's own write
    def get(self, request):
        loans = loan_list_for_borrower(borrower=request.user)
        return Response(loan_output(loans, many=True))


class LoanDetailApi(APIView):
    @extend_schema(responses={200: LoanOutputSerializer})
    def get(self, request, loan_id: int):
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        return Response(loan_output(loan))


class LoanScheduleApi(APIView):
    """The current schedule. A past version as it was planned is
    ``/schedule/versions/{number}`` (1: at disbursement)."""

    class FilterSerializer(JsonTypedSerializer):
        # Once a query parameter here; refused rather than ignored, so that nobody reads
        # the current schedule believing it to be a past one.
        version = serializers.IntegerField(required=False, write_only=True)

        def validate_version(self, value):
            raise serializers.ValidationError(
                "Read a schedule version at /api/loans/{loan_id}/schedule/versions/{number}."
            )

    @extend_schema(responses={200: InstallmentOutputSerializer(many=True)})
    def get(self, request, loan_id: int):
        self.FilterSerializer(data=request.query_params.dict()).is_valid(raise_exception=True)
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        rows = installment_list(loan=loan)
        context = {"business_date": business_date_get()}
        return Response(InstallmentOutputSerializer(rows, many=True, context=context).data)


class LoanScheduleVersionApi(APIView):
    """Version ``number`` of the loan's schedule as it was planned (1: at disbursement)."""

    @extend_schema(
        operation_id="loans_schedule_version_rows",
        responses={200: ScheduleVersionRowOutputSerializer(many=True)},
    )
    def get(self, request, loan_id: int, number: int):
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        planned = schedule_version_rows(loan=loan, number=min(number, MAX_ID))
        return Response(ScheduleVersionRowOutputSerializer(planned, many=True).data)


class LoanScheduleVersionListApi(APIView):
    """Every schedule the loan has had, oldest first, with when and why it was made."""

    @extend_schema(responses={200: ScheduleVersionOutputSerializer(many=True)})
    def get(self, request, loan_id: int):
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        versions = schedule_version_list(loan=loan)
        return Response(ScheduleVersionOutputSerializer(versions, many=True).data)


class LoanPayoffApi(APIView):
    """What paying the loan off on ``date`` costs (default: the business date)."""

    error_statuses = (404, 409)

    class FilterSerializer(JsonTypedSerializer):
        date = serializers.DateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: PayoffQuoteOutputSerializer})
    def get(self, request, loan_id: int):
        # A plain dict: an empty ``date=`` is a malformed date, not a missing one.
        query = self.FilterSerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        quote = payoff_quote_get(loan=loan, as_of=query.validated_data.get("date"))
        return Response(PayoffQuoteOutputSerializer(quote).data)


class LoanStatementApi(StatementApi):
    """A disbursed loan's statement for a period: JSON, or PDF (``?format=pdf``).

    The owner or any officer (others get 404); a loan never disbursed is 409.
    """

    error_statuses = (406, 409)

    @extend_schema(
        parameters=STATEMENT_PARAMETERS,
        responses={
            (200, "application/json"): LoanStatementOutputSerializer,
            (200, "application/pdf"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request, loan_id: int):
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        period = StatementPeriodSerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        statement = loan_statement(loan=loan, **period.validated_data)
        if self.wants_pdf():
            return self.pdf_response(
                loan_statement_pdf(statement), filename=loan_statement_filename(statement)
            )
        return Response(LoanStatementOutputSerializer(statement).data)


class LoanPendingListApi(APIView):
    permission_classes = [IsAuthenticated, IsOfficer]

    @extend_schema(responses={200: LoanOutputSerializer(many=True)})
    @replica_reads()  # a work queue: the decision itself re-reads the loan under lock
    def get(self, request):
        return Response(loan_output(loan_list_pending(), many=True))


class LoanDecisionApi(APIView):
    """An officer's decision: approve (and disburse), or reject with a reason."""

    permission_classes = [IsAuthenticated, IsOfficer]
    error_statuses = (404, 409)

    class InputSerializer(JsonTypedSerializer):
        loan_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        approved = serializers.BooleanField()
        rejection_reason = serializers.CharField(
            max_length=1000, required=False, allow_blank=True, default=""
        )

    @extend_schema(request=InputSerializer, responses={200: LoanOutputSerializer})
    @money_operation("loan_decision")
    def post(self, request):
        decision = self.InputSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        data = decision.validated_data
        if data["approved"]:
            loan = loan_approve(
                loan_id=data["loan_id"], officer=request.user, client_ip=client_ip(request)
            )
        else:
            loan = loan_reject(
                loan_id=data["loan_id"],
                officer=request.user,
                reason=data["rejection_reason"],
                client_ip=client_ip(request),
            )
        return Response(loan_output(loan))


class CanWaiveFees(BasePermission):
    """Officers holding the ``loans.waive_fee`` permission (the loan officers' group)."""

    message = "Only officers allowed to waive fees can do this."

    def has_permission(self, request, view):
        return bool(request.user.is_officer and request.user.has_perm("loans.waive_fee"))


class LoanFeeWaiveApi(APIView):
    """An officer waives all or part of an installment's unpaid late fee, with a reason."""

    permission_classes = [IsAuthenticated, IsOfficer, CanWaiveFees]
    error_statuses = (404, 409)

    class InputSerializer(JsonTypedSerializer):
        installment_number = serializers.IntegerField(min_value=1, max_value=1200)
        amount = MoneyField()
        reason = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        loan_id = serializers.IntegerField(source="installment.loan_id")
        installment_number = serializers.IntegerField(source="installment.number")
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)
        reason = serializers.CharField()
        value_date = serializers.DateField()
        fee_due = serializers.DecimalField(
            max_digits=12, decimal_places=2, source="installment.fee_due"
        )

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    @money_operation("fee_waiver")
    def post(self, request, loan_id: int):
        waiver = self.InputSerializer(data=request.data)
        waiver.is_valid(raise_exception=True)
        made = loan_fee_waive(
            loan_id=loan_id,
            officer=request.user,
            client_ip=client_ip(request),
            **waiver.validated_data,
        )
        return Response(self.OutputSerializer(made).data, status=status.HTTP_201_CREATED)


class CanWriteOff(BasePermission):
    """Officers holding the ``loans.write_off_loan`` permission."""

    message = "Only officers allowed to write loans off can do this."

    def has_permission(self, request, view):
        return bool(request.user.is_officer and request.user.has_perm("loans.write_off_loan"))


class LoanWriteOffApi(APIView):
    """An officer writes off an ACTIVE loan, with a reason (two officers above the
    loan's maker-checker threshold, compared with the unpaid principal).

    Guarded by state: a second write-off is 409, so no idempotency key is needed (an
    ``Idempotency-Key`` header is accepted and ignored).
    """

    permission_classes = [IsAuthenticated, IsOfficer, CanWriteOff]
    error_statuses = (404, 409)

    class InputSerializer(JsonTypedSerializer):
        reason = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        loan = LoanOutputSerializer()
        write_off = WriteOffOutputSerializer()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 202: PendingConfirmationSerializer},
    )
    @money_operation("write_off")
    def post(self, request, loan_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = loan_write_off(
            loan_id=loan_id,
            officer=request.user,
            reason=data.validated_data["reason"],
            client_ip=client_ip(request),
        )
        if isinstance(done, OfficerActionRequest):
            return Response(
                PendingConfirmationSerializer(done).data, status=status.HTTP_202_ACCEPTED
            )
        return Response(
            {"loan": loan_output(done.loan), "write_off": WriteOffOutputSerializer(done).data}
        )


class RecoveryPaymentOutputSerializer(serializers.Serializer):
    """A payment on a written-off loan: a recovery."""

    recovery = RecoveryOutputSerializer()
    new_outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)
    loan_closed = serializers.BooleanField()
    written_off_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    recovered_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    recoverable_amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class RepaymentCreateApi(IdempotentApi):
    # The token's claims, no user query: the payment's lock statement asks the database
    # whether the borrower is still an active borrower (``loans.repayment_sql``).
    authentication_classes = [JWTClaimsAuthentication]
    permission_classes = [IsAuthenticated, IsBorrower]
    endpoint = "repayments.make-payment"
    error_statuses = (404, 409, 422)

    class InputSerializer(JsonTypedSerializer):
        loan_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        amount = MoneyField()
        idempotency_key = serializers.CharField(max_length=255, required=False)
        prepayment = serializers.ChoiceField(
            choices=[purpose.value for purpose in Repayment.PREPAYMENTS],
            required=False,
            help_text="pay ahead: settle what is due, the rest to principal, and recompute "
            "the later installments keeping their number (REDUCE_EMI) or the EMI "
            "(REDUCE_TENURE)",
        )

    class OutputSerializer(serializers.Serializer):
        repayment = RepaymentOutputSerializer()
        new_outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)
        loan_closed = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={
            201: PolymorphicProxySerializer(
                component_name="PaymentResult",
                serializers=[OutputSerializer, RecoveryPaymentOutputSerializer],
                resource_type_field_name=None,
            )
        },
    )
    @money_operation("repayment")
    def post(self, request):
        return super().post(request)

    def perform(self, request, *, key, loan_id, amount, prepayment=None):
        repayment = loan_repay(
            loan_id=loan_id,
            borrower=request.user,
            amount=amount,
            idempotency_key=key,
            client_ip=client_ip(request),
            prepayment=prepayment,
        )
        loan = repayment.loan
        if isinstance(repayment, LoanRecovery):
            body = RecoveryPaymentOutputSerializer(
                {
                    "recovery": repayment,
                    "new_outstanding": loan.outstanding_amount,
                    "loan_closed": False,
                    "written_off_amount": loan.written_off_amount,
                    "recovered_amount": loan.recovered_amount,
                    "recoverable_amount": loan.written_off_amount - loan.recovered_amount,
                }
            ).data
            return body, repayment.entry_id
        body = _repayment_answer(
            {
                "repayment": repayment,
                "new_outstanding": loan.outstanding_amount,
                "loan_closed": loan.status == loan.Status.CLOSED,
            }
        )
        return body, repayment.entry_id


_repayment_answer = representation(RepaymentCreateApi.OutputSerializer)


class RepaymentListApi(APIView):
    @extend_schema(responses={200: RepaymentOutputSerializer(many=True)})
    @replica_reads()  # history: may lag, except right after the caller's own write
    def get(self, request, loan_id: int):
        loan = loan_get_visible(loan_id=loan_id, user=request.user)
        return Response(RepaymentOutputSerializer(repayment_list(loan=loan), many=True).data)


class CanReverseRepayments(BasePermission):
    """Officers holding the ``loans.reverse_repayment`` permission (the loan officers' group)."""

    message = "Only officers allowed to reverse repayments can do this."

    def has_permission(self, request, view):
        return bool(request.user.is_officer and request.user.has_perm("loans.reverse_repayment"))


class RepaymentReverseApi(APIView):
    """An officer reverses a repayment; the loan's other repayments are re-allocated.

    ``Idempotency-Key`` is accepted, not required: the repayment's state guards the
    action (reversing it again: 409 ``already_reversed``).
    """

    permission_classes = [IsAuthenticated, IsOfficer, CanReverseRepayments]
    error_statuses = (404, 409, 422)

    class InputSerializer(JsonTypedSerializer):
        reason = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        repayment = RepaymentOutputSerializer()
        loan = LoanOutputSerializer()
        repayments = RepaymentOutputSerializer(many=True, help_text="after the re-allocation")

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={200: OutputSerializer, 202: PendingConfirmationSerializer},
    )
    @money_operation("repayment_reversal")
    def post(self, request, loan_id: int, repayment_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]

        def operation():
            repayment = repayment_reverse(
                loan_id=loan_id,
                repayment_id=repayment_id,
                officer=request.user,
                reason=reason,
                client_ip=client_ip(request),
            )
            if isinstance(repayment, OfficerActionRequest):  # waits for a second officer
                return status.HTTP_202_ACCEPTED, PendingConfirmationSerializer(repayment).data, None
            loan = repayment.loan
            answer = {
                "repayment": RepaymentOutputSerializer(repayment).data,
                "loan": loan_output(loan),
                "repayments": RepaymentOutputSerializer(repayment_list(loan=loan), many=True).data,
            }
            return status.HTTP_200_OK, answer, repayment.reversal_entry

        return optionally_idempotent_response(
            request,
            endpoint="repayments.reverse",
            payload={"loan_id": loan_id, "repayment_id": repayment_id, "reason": reason},
            operation=operation,
        )


class RecoveryReverseApi(APIView):
    """An officer reverses a recovery on a written-off loan (the payment bounced).

    ``Idempotency-Key`` is accepted, not required: the recovery's state guards the
    action (reversing it again: 409 ``already_reversed``).
    """

    permission_classes = [IsAuthenticated, IsOfficer, CanReverseRepayments]
    error_statuses = (404, 409, 422)

    class InputSerializer(JsonTypedSerializer):
        reason = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        recovery = RecoveryOutputSerializer()
        loan = LoanOutputSerializer()

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={200: OutputSerializer, 202: PendingConfirmationSerializer},
    )
    @money_operation("recovery_reversal")
    def post(self, request, loan_id: int, recovery_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]

        def operation():
            recovery = recovery_reverse(
                loan_id=loan_id,
                recovery_id=recovery_id,
                officer=request.user,
                reason=reason,
                client_ip=client_ip(request),
            )
            if isinstance(recovery, OfficerActionRequest):  # waits for a second officer
                return status.HTTP_202_ACCEPTED, PendingConfirmationSerializer(recovery).data, None
            answer = {
                "recovery": RecoveryOutputSerializer(recovery).data,
                "loan": loan_output(recovery.loan),
            }
            return status.HTTP_200_OK, answer, recovery.reversal_entry

        return optionally_idempotent_response(
            request,
            endpoint="recoveries.reverse",
            payload={"loan_id": loan_id, "recovery_id": recovery_id, "reason": reason},
            operation=operation,
        )


class LoanForecloseApi(IdempotentApi):
    """The borrower pays the loan off today with its payoff total."""

    authentication_classes = [JWTClaimsAuthentication]  # as RepaymentCreateApi
    permission_classes = [IsAuthenticated, IsBorrower]
    error_statuses = (404, 409, 422)

    class InputSerializer(JsonTypedSerializer):
        amount = MoneyField()
        idempotency_key = serializers.CharField(max_length=255, required=False)

    OutputSerializer = RepaymentCreateApi.OutputSerializer

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={201: OutputSerializer},
    )
    @money_operation("foreclosure")
    def post(self, request, loan_id: int):
        # A key belongs to one loan's foreclosure: the loan is part of the key's scope.
        self.endpoint = f"loans.foreclose:{loan_id}"
        self.loan_id = loan_id
        return super().post(request)

    def perform(self, request, *, key, amount):
        repayment = loan_foreclose(
            loan_id=self.loan_id,
            borrower=request.user,
            amount=amount,
            idempotency_key=key,
            client_ip=client_ip(request),
        )
        body = _repayment_answer(
            {
                "repayment": repayment,
                "new_outstanding": repayment.loan.outstanding_amount,
                "loan_closed": repayment.loan.status == repayment.loan.Status.CLOSED,
            }
        )
        return body, repayment.entry_id
