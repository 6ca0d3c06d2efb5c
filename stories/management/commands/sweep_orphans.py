"""manage.py sweep_orphans [--delete] [--older-than HOURS] [--temp-dir PATH]"""

from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stories.sweeper import DEFAULT_GRACE, sweep


class Command(BaseCommand):
    help = (
        "Find what a crash can leave behind: files in private storage that no story, consent "
        "or other record points at, and our temporary upload files and folders, older than "
        "--older-than hours. Also lists records whose file is missing (these are never "
        "changed). Removes nothing unless --delete is given; run it with --delete from cron, "
        "e.g. once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Remove the orphan files and temporary leftovers found (default: only list).",
        )
        parser.add_argument(
            "--older-than",
            type=float,
            default=DEFAULT_GRACE.total_seconds() / 3600,
            metavar="HOURS",
            help="Leave anything younger than this alone (default: %(default)s hours). A "
            "file younger than this may belong to an upload still being saved.",
        )
        parser.add_argument(
            "--temp-dir",
            type=Path,
            metavar="PATH",
            help="The temporary folder uploads go to (default: FILE_UPLOAD_TEMP_DIR, else the "
            "system's).",
        )

    def handle(self, *args, delete=False, older_than=24.0, temp_dir=None, **options):
        if older_than < 1:
            raise CommandError(
                "--older-than must be at least 1 hour, so that uploads still being saved "
                "are never touched."
            )
        report = sweep(grace=timedelta(hours=older_than), delete=delete, temp_dir=temp_dir)
        verb = "Removed" if report.deleted else "Would remove"
        for name in report.orphan_files:
            self.stdout.write(f"{verb} private file with no record: {name}")
        for path in report.temporary:
            self.stdout.write(f"{verb} temporary leftover: {path}")
        for missing in report.missing_files:
            self.stdout.write(
                f"Missing file: {missing.model} {missing.pk} points at {missing.name}, "
                "which is not in private storage. Nothing was changed; please look into it."
            )
        for error in report.errors:
            self.stderr.write(f"Could not remove {error}")
        self.stdout.write(
            f"{verb} {len(report.orphan_files)} private "
            f"{'file' if len(report.orphan_files) == 1 else 'files'} and "
            f"{len(report.temporary)} temporary "
            f"{'leftover' if len(report.temporary) == 1 else 'leftovers'}; "
            f"{len(report.missing_files)} missing."
            + ("" if report.deleted else " Run again with --delete to remove them.")
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} could not be removed (see above).")
