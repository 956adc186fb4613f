from django.db import migrations


def store_normal_forms(apps, schema_editor):
    """Store every address in its normal form; stop, naming them, if two collide."""
    from accounts.emails import email_collisions, email_normalize

    user_model = apps.get_model("accounts", "User")
    accounts = list(user_model.objects.values_list("pk", "email"))
    collisions = email_collisions(accounts)
    if collisions:
        lines = [
            f"  {normal}: " + ", ".join(f"user {pk} ({email!r})" for pk, email in found)
            for normal, found in sorted(collisions.items())
        ]
        raise RuntimeError(
            "These accounts share one address once normalised (accounts/emails.py); "
            "decide which keeps it, change the others' addresses, then migrate again:\n"
            + "\n".join(lines)
        )
    for pk, email in accounts:
        normal = email_normalize(email)
        if normal != email:
            user_model.objects.filter(pk=pk).update(email=normal)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_loan_officers_group")]

    operations = [migrations.RunPython(store_normal_forms, migrations.RunPython.noop)]
