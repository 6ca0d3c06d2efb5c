from datetime import date

from django.core.management.base import BaseCommand, CommandError

from cms.daily import daily_jobs, daily_run


class Command(BaseCommand):
    help = (
        "Run the daily jobs (retention, reminders) that have not run today. Safe to call "
        "every hour, from several machines: each job runs once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Run as if today were this day (YYYY-MM-DD).")

    def handle(self, *args, date=None, **options):
        today = None
        if date:
            try:
                today = _parse(date)
            except ValueError:
                raise CommandError(f'"{date}" is not a date like 2026-11-26.') from None
        ran = daily_run(today=today)
        if not ran:
            self.stdout.write(f"Nothing to do: all {len(daily_jobs())} daily jobs ran today.")
        for name, outcome in ran.items():
            self.stdout.write(f"{name}: {outcome}")


def _parse(text: str):
    return date.fromisoformat(text)
