from rest_framework.permissions import BasePermission

from accounts.models import User


class IsBorrower(BasePermission):
    """Borrowers only: the endpoints that act on the caller's own wallet and loans."""

    message = "Only borrowers can do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role == User.Role.BORROWER)


class IsOfficer(BasePermission):
    """Loan officers and administrators only."""

    message = "Only loan officers can do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in User.STAFF_ROLES)
