from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts.login_throttle import login_failed, login_refusal, login_succeeded
from lendingsite.http import client_ip


class ThrottledModelBackend(ModelBackend):
    """Email and password, within the failed-login limits of ``accounts.login_throttle``.

    The API's login and the admin's both authenticate here. A refused attempt raises
    ``PermissionDenied`` (so Django tries no other backend) after noting the refusal on
    the request (``request.login_refusal``), which the callers turn into a 429 or a
    message.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None or password is None:
            return None
        address = client_ip(request)
        refusal = login_refusal(email=username, address=address)
        if refusal is not None:
            request.login_refusal = refusal
            raise PermissionDenied(refusal.reason)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(email=username, address=address)
        else:
            login_succeeded(email=username, address=address)
        return user
