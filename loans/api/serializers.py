from rest_framework import serializers

from loans.models import Installment, Loan, Repayment


class LoanOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="borrower_id")
    total_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    approved_by = serializers.IntegerField(source="approved_by_id", allow_null=True)
    disbursed_by = serializers.IntegerField(source="disbursed_by_id", allow_null=True)
    rejected_by = serializers.IntegerField(source="rejected_by_id", allow_null=True)

    class Meta:
        model = Loan
        fields = [
            "id",
            "user_id",
            "principal_amount",
            "tenure_months",
            "interest_rate",
            "interest_method",
            "status",
            "outstanding_amount",
            "emi_amount",
            "total_interest",
            "total_amount",
            "approved_by",
            "approved_at",
            "disbursed_by",
            "disbursed_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "closed_at",
            "created_at",
            "updated_at",
        ]


class InstallmentOutputSerializer(serializers.ModelSerializer):
    paid = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = Installment
        fields = [
            "number",
            "due_date",
            "principal",
            "interest",
            "total",
            "remaining_principal",
            "principal_paid",
            "interest_paid",
            "paid",
        ]


class RepaymentOutputSerializer(serializers.ModelSerializer):
    loan_id = serializers.IntegerField()

    class Meta:
        model = Repayment
        fields = [
            "id",
            "loan_id",
            "amount",
            "principal_part",
            "interest_part",
            "type",
            "status",
            "created_at",
        ]
