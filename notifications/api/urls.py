from django.urls import path

from notifications.api import views

urlpatterns = [
    path("", views.NotificationListApi.as_view(), name="notifications"),
]
