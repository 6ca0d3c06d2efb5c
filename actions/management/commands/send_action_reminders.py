"""send_action_reminders: e-mail the owners of overdue actions now (for cron)."""

from django.core.management.base import BaseCommand

from actions import services


class Command(BaseCommand):
    help = (
        "E-mail the owner of each overdue action (or the project's managers when the owner "
        "has left). Safe to run more than once a day: each reminder goes once a day. "
        "`manage.py daily` does this every morning."
    )

    def handle(self, *args, **options):
        result = services.overdue_reminders_send()
        self.stdout.write(
            f"Sent {result['sent']} reminder(s); {result['already_sent']} had already gone today."
        )
