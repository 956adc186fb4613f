from django.urls import path

from wallets.api import views

urlpatterns = [
    path("balance", views.WalletBalanceApi.as_view(), name="wallet-balance"),
    path("transactions", views.WalletTransactionListApi.as_view(), name="wallet-transactions"),
    path("statement", views.WalletStatementApi.as_view(), name="wallet-statement"),
    path("deposit", views.WalletDepositApi.as_view(), name="wallet-deposit"),
    path("withdraw", views.WalletWithdrawApi.as_view(), name="wallet-withdraw"),
]
