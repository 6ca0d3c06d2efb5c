"""build_themes --project SLUG [--wait]"""

from django.core.management.base import BaseCommand, CommandError

from cms.models import ProjectPage
from themes import selectors, services
from themes.models import RunStatus


class Command(BaseCommand):
    help = "Find the themes in a project's approved stories (queued for a worker, or --wait)."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--wait", action="store_true", help="Find the themes now, in this process."
        )

    def handle(self, *args, project, wait, **options):
        found = ProjectPage.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f'There is no project "{project}".')
        run = services.theme_run_start(project=found, user=None, enqueue=not wait)
        if not wait:
            self.stdout.write(
                f"Theme run {run.pk} is queued. A worker on the 'themes' queue will do it."
            )
            return
        started = run.started_at
        run = services.theme_run_execute(run_id=run.pk)
        if run.status == RunStatus.RUNNING or (run.is_finished and run.started_at == started):
            # Taken by a worker that is still alive (a run whose worker died is taken over).
            state = run.get_status_display().lower()
            raise CommandError(f"Theme run {run.pk} for this project is already {state}.")
        if run.status == RunStatus.FAILED:
            raise CommandError(f"{run.message}\n{run.error}")
        if run.message:
            self.stdout.write(run.message)
            return
        self.stdout.write(
            f"Found {_count(run.theme_count, 'theme')} in {_count(run.segment_count, 'segment')} "
            f"from {_count(run.story_count, 'story', 'stories')} "
            f"({_count(run.outlier_count, 'segment')} in no theme)."
        )
        themes = run.themes.filter(merged_into__isnull=True, split_into=[], hidden=False)
        for theme in selectors.themes_with_words_hidden(themes, project=found):
            self.stdout.write(
                f"- {theme.display_label}: {_count(theme.size, 'segment')}, "
                f"{_count(theme.storyteller_count, 'storyteller')} "
                f"({', '.join(theme.keywords[:5])})"
            )
        report = run.report or {}
        for change in ("new", "grown", "shrunk", "vanished"):
            if report.get(change):
                self.stdout.write(f"{change.capitalize()}: {', '.join(report[change])}")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
