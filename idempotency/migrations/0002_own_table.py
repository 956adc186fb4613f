from django.db import migrations, models


def move_content_type(apps, schema_editor):
    """Permissions (the officers' view permission) and admin history follow the model."""
    content_type = apps.get_model("contenttypes", "ContentType")
    old = content_type.objects.filter(app_label="ledger", model="idempotencyrecord")
    if content_type.objects.filter(app_label="idempotency", model="idempotencyrecord").exists():
        old.delete()
    else:
        old.update(app_label="idempotency")


def move_content_type_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="idempotency", model="idempotencyrecord").update(
        app_label="ledger"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0001_initial"),
        ("ledger", "0005_idempotencyrecord_moves_out"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AlterModelTable(name="idempotencyrecord", table=None),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="idempotencyrecord", name="ledger_idempotency_unique_key"
                ),
                migrations.AddConstraint(
                    model_name="idempotencyrecord",
                    constraint=models.UniqueConstraint(
                        fields=("user", "endpoint", "key"), name="idempotency_record_unique_key"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE idempotency_idempotencyrecord RENAME CONSTRAINT "
                    "ledger_idempotency_unique_key TO idempotency_record_unique_key",
                    "ALTER TABLE idempotency_idempotencyrecord RENAME CONSTRAINT "
                    "idempotency_record_unique_key TO ledger_idempotency_unique_key",
                ),
            ],
        ),
    ]
