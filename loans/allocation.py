"""How a payment is split over what a loan owes: the allocation orders of ``LoanProduct``.

A pure function of the unpaid installments (oldest first) and the amount: no database.
The orders:

- ``INSTALLMENT_FEES_INTEREST_PRINCIPAL`` (the default; Fineract's "mifos standard"):
  installment by installment, oldest first, and within one installment its fee, then its
  interest, then its principal;
- ``PRINCIPAL_INTEREST_FEES`` (for non-performing loans): all principal first, oldest
  installment first, then all interest, then all fees.
"""

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")

INSTALLMENT_FEES_INTEREST_PRINCIPAL = "INSTALLMENT_FEES_INTEREST_PRINCIPAL"
PRINCIPAL_INTEREST_FEES = "PRINCIPAL_INTEREST_FEES"
PARTS = ("fee", "interest", "principal")


@dataclass(frozen=True)
class Owed:
    """What is unpaid on one installment."""

    number: int
    fee: Decimal
    interest: Decimal
    principal: Decimal


@dataclass
class Share:
    """What a payment pays on one installment."""

    number: int
    fee: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.fee + self.interest + self.principal


def allocate(*, amount: Decimal, owed: list[Owed], order: str) -> list[Share]:
    """Split ``amount`` over ``owed`` (oldest installment first) in ``order``.

    Returns the installments it pays something on, in installment order. What is left
    when everything owed is paid is not allocated: the caller refuses an amount above
    what is owed before it gets here.
    """
    if order == INSTALLMENT_FEES_INTEREST_PRINCIPAL:
        steps = [(item, part) for item in owed for part in PARTS]
    elif order == PRINCIPAL_INTEREST_FEES:
        steps = [(item, part) for part in reversed(PARTS) for item in owed]
    else:
        raise ValueError(f"Unknown allocation order {order!r}.")
    shares: dict[int, Share] = {}
    left = amount
    for item, part in steps:
        if not left:
            break
        pay = min(left, getattr(item, part))
        if pay > 0:
            share = shares.setdefault(item.number, Share(item.number))
            setattr(share, part, getattr(share, part) + pay)
            left -= pay
    return [shares[number] for number in sorted(shares)]
