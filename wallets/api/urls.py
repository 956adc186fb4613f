from django.urls import path

from wallets.api import views

urlpatterns = [
    path("balance", views.WalletBalanceApi.as_view(), name="wallet-balance"),
]
