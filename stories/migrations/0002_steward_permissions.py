"""Data stewards manage storytellers and read consent history in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

STEWARD = ["view_storyteller", "change_storyteller", "view_consent"]


def forwards(apps, schema_editor):
    # Permissions are normally made after all migrations; make this app's now.
    app_config = apps.get_app_config("stories")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    stewards = Group.objects.get(name="Data stewards")
    stewards.permissions.add(
        *Permission.objects.filter(content_type__app_label="stories", codename__in=STEWARD)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("cms", "0002_home_roles_workflow"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
