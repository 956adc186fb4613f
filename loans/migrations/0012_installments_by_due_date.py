from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# Built without blocking the book's writes: a large installments table takes a while.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("loans", "0011_officer_action_requests"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="installment",
            index=models.Index(
                condition=models.Q(("paid_on__isnull", True)),
                fields=["due_date", "loan"],
                name="loans_installment_due_idx",
            ),
        ),
    ]
