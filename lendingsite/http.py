def client_ip(request) -> str | None:
    """The address of the client that sent ``request`` (as seen by Django).

    Behind the reverse proxy, ``REMOTE_ADDR`` is the proxy's; deployments that trust
    a proxy set ``X-Forwarded-For`` handling in one place (see docs/DEPLOYMENT.md).
    """
    return request.META.get("REMOTE_ADDR") or None
