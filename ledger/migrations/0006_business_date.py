from django.conf import settings
from django.db import migrations, models


def create_fees_receivable(apps, schema_editor):
    account = apps.get_model("ledger", "Account")
    account.objects.get_or_create(
        code="fees_receivable",
        defaults={"name": "Fees receivable (late fees owed by borrowers)", "kind": "ASSET"},
    )


class Migration(migrations.Migration):
    """The business date, the value date of every entry, and the fees-receivable account."""

    dependencies = [("ledger", "0005_idempotencyrecord_moves_out")]

    operations = [
        migrations.CreateModel(
            name="BusinessDate",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("date", models.DateField()),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="ledger_business_date_one_row"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="journalentry",
            name="value_date",
            field=models.DateField(db_index=True, null=True),
        ),
        # Entries posted before business dates existed: the local day they were made.
        migrations.RunSQL(
            [
                (
                    "UPDATE ledger_journalentry SET value_date = (created_at AT TIME ZONE %s)::date",
                    [settings.TIME_ZONE],
                )
            ],
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="value_date",
            field=models.DateField(db_index=True),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("DEPOSIT", "Deposit"),
                    ("WITHDRAWAL", "Withdrawal"),
                    ("LOAN_DISBURSEMENT", "Loan disbursement"),
                    ("EMI_PAYMENT", "EMI payment"),
                    ("REVERSAL", "Reversal"),
                    ("FEE_CHARGE", "Late fee charged"),
                    ("FEE_WAIVER", "Late fee waived"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(create_fees_receivable, migrations.RunPython.noop),
    ]
