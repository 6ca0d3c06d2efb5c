"""Data stewards follow erasures and read their certificates in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def forwards(apps, schema_editor):
    app_config = apps.get_app_config("stories")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    stewards = Group.objects.get(name="Data stewards")
    stewards.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="stories", codename="view_erasurerequest"
        )
    )


class Migration(migrations.Migration):
    dependencies = [("stories", "0005_erasure")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
