from django.urls import path

from loans.api import views

loan_urlpatterns = [
    path("calculate-emi", views.LoanCalculateEmiApi.as_view(), name="loan-calculate-emi"),
    path("apply", views.LoanApplyApi.as_view(), name="loan-apply"),
    path("my-loans", views.LoanMyListApi.as_view(), name="loan-my-list"),
    path("admin/pending", views.LoanPendingListApi.as_view(), name="loan-pending"),
    path("admin/approve", views.LoanDecisionApi.as_view(), name="loan-decision"),
    path("<int:loan_id>", views.LoanDetailApi.as_view(), name="loan-detail"),
    path("<int:loan_id>/schedule", views.LoanScheduleApi.as_view(), name="loan-schedule"),
    path(
        "<int:loan_id>/schedule/versions",
        views.LoanScheduleVersionListApi.as_view(),
        name="loan-schedule-versions",
    ),
    path(
        "<int:loan_id>/schedule/versions/<int:number>",
        views.LoanScheduleVersionApi.as_view(),
        name="loan-schedule-version",
    ),
    path("<int:loan_id>/payoff", views.LoanPayoffApi.as_view(), name="loan-payoff"),
    path("<int:loan_id>/foreclose", views.LoanForecloseApi.as_view(), name="loan-foreclose"),
    path("<int:loan_id>/statement", views.LoanStatementApi.as_view(), name="loan-statement"),
    path("<int:loan_id>/waive-fee", views.LoanFeeWaiveApi.as_view(), name="loan-waive-fee"),
    path(
        "<int:loan_id>/repayments/<int:repayment_id>/reverse",
        views.RepaymentReverseApi.as_view(),
        name="repayment-reverse",
    ),
    path(
        "<int:loan_id>/recoveries/<int:recovery_id>/reverse",
        views.RecoveryReverseApi.as_view(),
        name="recovery-reverse",
    ),
    path("<int:loan_id>/write-off", views.LoanWriteOffApi.as_view(), name="loan-write-off"),
]

repayment_urlpatterns = [
    path("make-payment", views.RepaymentCreateApi.as_view(), name="repayment-create"),
    path("loan/<int:loan_id>", views.RepaymentListApi.as_view(), name="repayment-list"),
]
