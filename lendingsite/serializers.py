"""Input serializers that take exactly the JSON types the API schema documents."""

import re
from collections.abc import Callable, Mapping

from rest_framework import serializers

# Numbers may come as JSON numbers or as plain numeric strings (ASCII digits only: no
# spaces, exponents, underscores or other scripts' digits). The schema uses the same
# patterns (lendingsite/schema.py).
INTEGER_STRING = re.compile(r"^[+-]?[0-9]+$")
DECIMAL_STRING = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
# The largest primary key (bigint): an id beyond it is a malformed id, not a missing one.
MAX_ID = 2**63 - 1


def json_type_error(field: serializers.Field, value) -> str | None:
    """Why ``value`` has the wrong JSON type for ``field``, or None when it is fine."""
    if value is None:
        return None  # the field's own allow_null handling names the problem
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(value, bool):
        return "A valid number is required." if _is_number_field(field) else "Not a valid string."
    if isinstance(field, serializers.IntegerField):
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return None
        if isinstance(value, str) and INTEGER_STRING.fullmatch(value):
            return None
        return "A valid integer is required."
    if isinstance(field, serializers.DecimalField):
        if isinstance(value, int | float):
            return None
        if isinstance(value, str) and DECIMAL_STRING.fullmatch(value):
            return None
        return "A valid number is required."
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        return None if isinstance(value, str) else "Not a valid string."
    return None


def _is_number_field(field) -> bool:
    return isinstance(field, serializers.IntegerField | serializers.DecimalField)


class JsonTypedSerializer(serializers.Serializer):
    """Refuse a value whose JSON type is not the field's, with a 400 naming the field.

    DRF converts leniently (``123`` into a string field, ``"yes"`` into a boolean,
    ``" 1_000"`` into an integer). The API accepts what its schema documents and refuses
    the rest, so that the schema is an exact contract for clients and for fuzzing.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                message = json_type_error(field, data[name])
                if message:
                    errors[name] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def representation(serializer_class: type[serializers.Serializer]) -> Callable[[object], dict]:
    """An output serializer's ``to_representation``, its fields built once per process.

    DRF builds a serializer's fields anew for every instance (a ``ModelSerializer`` reads
    its model's fields, maps each to a serializer field, deep-copies the declared ones):
    a third of a millisecond for a repayment's answer, more than the rest of its
    rendering. The answer of a hot endpoint is written by one instance, made here, whose
    fields are reused: ``to_representation`` keeps no state on the serializer. Not for a
    serializer that reads ``self.context``.
    """
    serializer = serializer_class()
    serializer.fields  # noqa: B018 - built now, once, not by the first request
    return serializer.to_representation
