from django.core.management.base import BaseCommand, CommandError

from stories.demo import DEMO_PASSWORD, DEMO_TITLE, DemoProblem, demo_seed


class Command(BaseCommand):
    help = (
        "Build the demo programme used by `make run`: a fictional probation project, demo "
        f"logins (password '{DEMO_PASSWORD}') and twelve short fictional stories voiced by "
        "espeak-ng (nine approved, three waiting for approval). Needs the Debian package "
        "espeak-ng."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only build the demo when the database has no project yet; otherwise say so "
            "and change nothing. Without it, the command refuses if the demo project exists.",
        )

    def handle(self, *args, **options):
        try:
            result = demo_seed(if_empty=options["if_empty"])
        except DemoProblem as problem:
            raise CommandError(str(problem)) from None
        if not result.created:
            self.stdout.write("The database already has a project, so the demo was left as it is.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo programme ready: {DEMO_TITLE}, {result.stories} fictional stories "
                f"({result.approved} approved, {result.stories - result.approved} waiting for "
                "approval)."
            )
        )
        for note in result.notes:
            self.stdout.write(note)
        self.stdout.write(f"Logins (password '{DEMO_PASSWORD}'):")
        for username, label, created in result.users:
            note = "" if created else "  (already existed: its password was not changed)"
            self.stdout.write(f"  {username:<12} {label}{note}")
