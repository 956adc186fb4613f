"""What a scenario plug-in is made of.

A scenario names one kind of request. Its ``setup`` runs once in the harness process,
with Django configured against the benchmark database, and creates what the requests
need through the project's services; it returns *fixtures*: JSON-serializable dicts,
usually one per borrower (``token`` is sent as the bearer token). Its ``request``
runs in the load-generating process, where Django is not loaded: given a fixture and
a sequence number unique within the run, it returns the request to send.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: str
    # Used to decide whether the endpoint exists on this branch (``django.urls.resolve``).
    path: str
    setup: Callable[["SetupContext"], list[dict]]
    request: Callable[[dict, int], Request]
    # The pgbench script this scenario is compared with: "tpcb" or "select" (or None).
    ceiling: str | None = None
    # Non-empty: declared but not run yet, and why.
    pending: str = ""


@dataclass
class SetupContext:
    """Shared state for the scenarios' setup functions of one run."""

    n_borrowers: int
    _borrowers: list[dict] = field(default_factory=list)
    _officer: object = None

    def officer(self):
        """A loan officer (created once) to approve the borrowers' loans."""
        if self._officer is None:
            from accounts.models import User
            from accounts.services import user_create

            self._officer = user_create(
                email="bench-officer@example.com", name="Bench Officer", role=User.Role.OFFICER
            )
        return self._officer

    def borrowers(self) -> list[dict]:
        """Return ``n_borrowers`` registered borrowers as ``{user_id, token}`` (created once).

        Registration goes through ``accounts.services.user_register`` (user and wallet
        in one transaction); only the password hasher is swapped for a fast one, since
        the benchmark never logs in with the password: tokens are minted directly.
        """
        if not self._borrowers:
            from django.test import override_settings

            from accounts.services import user_register
            from accounts.tokens import token_pair_for

            fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
            with override_settings(PASSWORD_HASHERS=fast):
                for i in range(self.n_borrowers):
                    user = user_register(
                        email=f"bench-{i:05d}@example.com",
                        name=f"Bench Borrower {i}",
                        password=f"bench-pass-{i:05d}-x7Q!",
                    )
                    self._borrowers.append(
                        {"user_id": user.pk, "token": token_pair_for(user)["access_token"]}
                    )
        return [dict(b) for b in self._borrowers]
