"""export {stories,segments,themes,...} --project SLUG --format {json,csv} [-o FILE]"""

import csv
import io
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from cms.exports import csv_safe_row, export_kinds, exporter_for
from cms.models import ProjectPage


class Command(BaseCommand):
    help = "Export a project's stories, segments or themes as JSON or CSV."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"What to export: {', '.join(export_kinds())}.")
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("-o", "--output", help="The file to write (default: the screen).")

    def handle(self, *args, kind, project, format, output, **options):
        exporter = exporter_for(kind)
        if exporter is None:
            raise CommandError(
                f'There is no export called "{kind}". Choose one of: {", ".join(export_kinds())}.'
            )
        found = ProjectPage.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f'There is no project "{project}".')
        if format == "json":
            text = json.dumps(exporter.as_json(project=found), indent=2, ensure_ascii=False)
            text += "\n"
        else:
            columns, rows = exporter.as_rows(project=found)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(csv_safe_row(row) for row in rows)
            text = buffer.getvalue()
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            except OSError as error:
                raise CommandError(f"Could not write {output}: {error.strerror}.") from error
            self.stderr.write(f"Wrote {kind} of {found.title} to {output}.")
        else:
            (self.stdout if self.stdout else sys.stdout).write(text, ending="")
