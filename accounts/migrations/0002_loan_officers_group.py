from django.db import migrations

# This migration's own copy of the group's permissions. A later app (loans) that gives
# officers more adds its own data migration calling officer_group_sync with the full list.
PERMISSIONS = ["accounts.view_user", "wallets.view_wallet"]


def create_group(apps, schema_editor):
    from accounts.services import officer_group_sync

    group = officer_group_sync(apps=apps, permissions=PERMISSIONS)
    # Officers created before this migration join too.
    user_model = apps.get_model("accounts", "User")
    group.user_set.add(*user_model.objects.filter(role="OFFICER"))


def delete_group(apps, schema_editor):
    from accounts.services import OFFICER_GROUP_NAME

    apps.get_model("auth", "Group").objects.filter(name=OFFICER_GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wallets", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
