"""The client's address, as seen behind the reverse proxy.

nginx overwrites ``X-Real-IP`` with the address it accepted the connection from. That
header is believed only when the request comes from one of ``TRUSTED_PROXIES``; from
anyone else it could be forged, so ``REMOTE_ADDR`` is used. Failed-login lockout
(``accounts.login_throttle``), throttling and read-your-writes pinning all count per
this address.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Set on the answer to a money-moving request replayed from its idempotency key.
REPLAYED_HEADER = "Idempotent-Replayed"


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    return _is_trusted(address, tuple(settings.TRUSTED_PROXIES))


# Every request asks about its peer (forwarded_proto_from_trusted_proxies), and behind
# nginx the peer is always the same few addresses: the answer is remembered rather than
# the address parsed and compared with each network again (issue 16). Keyed by the
# setting too, so that a changed TRUSTED_PROXIES is obeyed at once.
@lru_cache(maxsize=1024)
def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    parsed = _parse(address)
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(proxies))


def client_ip(request) -> str | None:
    """The address of the client that sent ``request``, seen through a trusted proxy.

    The failed-login limits, audit rows and throttles record the same address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if is_trusted_proxy(remote):
        forwarded = _parse(request.headers.get("x-real-ip", ""))
        if forwarded is not None:
            return str(forwarded)
    return remote or None
