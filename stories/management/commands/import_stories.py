from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stories.importing import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportProblem,
    ImportResult,
    stories_import,
)


class Command(BaseCommand):
    help = (
        "Import stories from audio, video or text (.txt) files, with a metadata sidecar "
        f"(CSV with a header row, or JSON: a list of objects) giving for each file: "
        f"{', '.join(REQUIRED_COLUMNS)}; optionally {', '.join(OPTIONAL_COLUMNS)}. "
        "'consent' is space-separated scopes (record transcribe analyse quote voice publish) "
        "or 'all'. Imported stories count as approved by the data steward running the "
        "command. Each file goes in whole or not at all; failures are reported as "
        "'row N, FILE: reason' (N counts the CSV header as row 1) and make the exit status "
        "non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            type=Path,
            help="Files or folders to import. Folders are walked in name order; hidden files "
            "are left out.",
        )
        parser.add_argument(
            "--project",
            required=True,
            metavar="SLUG",
            help="The project's short name (slug) the stories belong to.",
        )
        parser.add_argument(
            "--metadata",
            type=Path,
            metavar="FILE",
            help="The sidecar: a .csv or .json file with one row per file. Without it, "
            "metadata.csv or metadata.json in the (single) folder given is used. File names "
            "in it are relative to its own folder, or just the file's name.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Transcribe here and now, and return when done: the new-recording signal "
            "(story_media_added) is sent with wait=True, so its receivers do their work in "
            "this process instead of handing it to the worker.",
        )
        parser.add_argument(
            "--create-project",
            action="store_true",
            help="Create the project under the home page if the slug is new (title from the "
            "slug, organisation 'Imported'). Without it, an unknown slug is an error.",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="The data steward (or superuser) running the import. May be left out when "
            "there is exactly one.",
        )

    def handle(self, *args, **options):
        def show(result: ImportResult) -> None:
            if result.ok:
                self.stdout.write(result.describe())
            else:
                self.stderr.write(result.describe())

        try:
            report = stories_import(
                paths=options["paths"],
                project_slug=options["project"],
                metadata=options["metadata"],
                username=options["user"],
                create_project=options["create_project"],
                wait=options["wait"],
                on_result=show,
            )
        except ImportProblem as problem:
            raise CommandError(str(problem)) from None

        imported, failed = len(report.imported), len(report.failed)
        summary = f"Imported {imported} {'story' if imported == 1 else 'stories'}"
        summary += f", {failed} failed" if failed else ""
        summary += f", {len(report.skipped)} left out" if report.skipped else ""
        self.stdout.write(summary + ".")
        if failed:
            raise CommandError(
                f"{failed} {'file' if failed == 1 else 'files'} could not be imported "
                "(see above). The others were imported."
            )
