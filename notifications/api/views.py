from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from lendingsite.serializers import MAX_ID, JsonTypedSerializer
from notifications.selectors import notification_list_for_user

# Notifications per page, as for the wallet's history.
DEFAULT_PAGE = 50
MAX_PAGE = 200


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.SerializerMethodField()
    loan_id = serializers.IntegerField(allow_null=True)
    business_date = serializers.DateField()
    details = serializers.JSONField(source="payload")
    channel = serializers.CharField()
    state = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_title(self, row) -> str:
        return row.subject


class NotificationListApi(APIView):
    """The caller's own notifications, newest first, with their delivery state.

    Paged like the wallet's history: ``limit`` (default 50; more than 200 gives 200)
    and ``before`` (an id); the next page's URL is in the ``Link`` header.
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
            OpenApiParameter("before", int, description="only notifications with a smaller id"),
        ],
        responses={200: NotificationOutputSerializer(many=True)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        limit = filters.validated_data["limit"]
        rows = list(
            notification_list_for_user(
                user=request.user, before_id=filters.validated_data.get("before")
            )[: limit + 1]
        )
        page = rows[:limit]
        response = Response(NotificationOutputSerializer(page, many=True).data)
        if len(rows) > limit:
            url = request.build_absolute_uri(reverse("notifications"))
            response["Link"] = f'<{url}?limit={limit}&before={page[-1].id}>; rel="next"'
        return response
