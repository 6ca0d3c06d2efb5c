"""The five statuses every project starts with (stewards may change or add to them)."""

from django.db import migrations

DEFAULT_STATUSES = [
    # key, label, public label, default progress, reason required, closed
    ("proposed", "Proposed", "We are thinking about it", 0, False, False),
    ("agreed", "Agreed", "We have said yes", 10, False, False),
    ("in_progress", "In progress", "We are working on it", 50, False, False),
    ("done", "Done", "Done", 100, False, True),
    ("wont_do", "Won't do", "We decided not to do this", None, True, True),
]


def forwards(apps, schema_editor):
    ActionStatus = apps.get_model("actions", "ActionStatus")
    for order, (key, label, public, progress, reason, closed) in enumerate(DEFAULT_STATUSES):
        ActionStatus.objects.get_or_create(
            key=key,
            defaults={
                "label": label,
                "public_label": public,
                "default_progress": progress,
                "reason_required": reason,
                "is_closed": closed,
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("actions", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
