from django.urls import path

from ledger.api.views import BusinessDateApi

urlpatterns = [path("", BusinessDateApi.as_view(), name="business-date")]
