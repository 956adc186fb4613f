"""Amounts in the back office as officers read them: 12,34,567.00 (``format_inr``)."""

from django.contrib import admin

from lendingsite.money import format_inr


def inr_column(field: str, description: str):
    """A column of a list or a page showing the model's ``field`` with Indian grouping.

    Sorts by the field. For a model field, name the column differently from the field
    (``amount_inr = inr_column("amount", "amount")``): the admin shows a model field by
    its own rule before it looks for a method of that name.
    """

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        return "—" if value is None else format_inr(value)

    column.__name__ = f"{field}_inr"
    return column
