"""Theme runs: the lifecycle, what reaches the model (consent), too little material,
failures, and new stories joining the current themes."""

import pytest
from django.tasks import default_task_backend  # noqa: F401 — the tasks framework is set up
from wagtail.models import ModelLogEntry

from stories.services import consent_withdraw
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import selectors, services
from themes.models import RunStatus, Theme, ThemeAssignment, ThemeRun
from transcription.models import Segment


@pytest.fixture
def three_stories(project, reporter, steward):
    return [
        analysed_story(project, reporter, steward, HOUSING, title="Housing", teller="Ann"),
        analysed_story(project, reporter, steward, WORK, title="Work", teller="Bob", role="staff"),
        analysed_story(project, reporter, steward, DRINK, title="Drink", teller="Cat"),
    ]


def test_a_run_is_queued_then_done_with_progress_along_the_way(
    project, facilitator, three_stories, django_capture_on_commit_callbacks
):
    seen = []

    def during_fit():
        run = ThemeRun.objects.get(project=project)
        seen.append((run.status, run.progress))

    with django_capture_on_commit_callbacks() as callbacks:
        run = services.theme_run_start(project=project, user=facilitator)
    assert run.status == RunStatus.QUEUED and len(callbacks) == 1  # the worker's task
    # Pressing the button again while it waits does not start a second run.
    assert services.theme_run_start(project=project, user=facilitator).pk == run.pk

    run = services.theme_run_execute(run_id=run.pk, engine=FakeEngine(on_fit=during_fit))

    assert seen and seen[0][0] == RunStatus.RUNNING and 0 < seen[0][1] < 100
    assert run.status == RunStatus.DONE and run.progress == 100 and run.is_current
    assert (run.story_count, run.segment_count, run.theme_count) == (3, 9, 3)
    assert run.engine_version == "fake/1" and run.fitted_state
    themes = {t.auto_label: t for t in Theme.objects.filter(run=run)}
    assert set(themes) == {"housing, auto", "work, auto", "drink, auto"}
    work = themes["work, auto"]
    assert (work.size, work.storyteller_count, work.role_counts) == (3, 1, {"staff": 1})
    assert selectors.heard_only_by(work.role_counts) == "staff"
    assert selectors.heard_only_by(themes["drink, auto"].role_counts) == "service_user"
    # Running it again does nothing: only a queued run is taken.
    assert services.theme_run_execute(run_id=run.pk, engine=FakeEngine()).pk == run.pk
    assert ModelLogEntry.objects.filter(action="storyloom.themes.run_done").count() == 1


def test_only_live_stories_with_consent_to_analyse_reach_the_model(
    project, reporter, steward, facilitator
):
    analysed_story(project, reporter, steward, HOUSING + WORK, title="Yes", teller="Ann")
    no_analyse = analysed_story(
        project,
        reporter,
        steward,
        ["Secret flat story about my landlord and the rent."],
        title="No analyse",
        teller="Bob",
        scopes={"record", "transcribe", "quote"},
    )
    not_approved = analysed_story(
        project,
        reporter,
        steward,
        ["Unapproved job story about my employer and wages."],
        title="Draft",
        teller="Cat",
        approve=False,
    )
    withdrawn = analysed_story(
        project, reporter, steward, ["Withdrawn pub and alcohol story."], teller="Dee"
    )
    consent_withdraw(story=withdrawn, user=reporter, keep={"record", "transcribe"})
    engine = FakeEngine()

    run = services.theme_run_start(project=project, user=facilitator)
    run = services.theme_run_execute(run_id=run.pk, engine=engine)

    given = " ".join(engine.fitted[0])
    assert "Nobody would give me a job" in given and "no flat" in given
    for secret in ("Secret flat", "Unapproved job", "Withdrawn pub"):
        assert secret not in given
    excluded = [no_analyse.pk, not_approved.pk, withdrawn.pk]
    assert not ThemeAssignment.objects.filter(story_id__in=excluded).exists()
    assert run.story_count == 1


def test_too_little_material_is_said_plainly_and_keeps_the_old_themes(
    project, reporter, steward, facilitator
):
    run = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator).pk,
        engine=FakeEngine(),
    )
    assert run.status == RunStatus.DONE and run.theme_count == 0 and not run.is_current
    assert run.message == services.TOO_LITTLE_MESSAGE

    analysed_story(project, reporter, steward, HOUSING + WORK, teller="Ann")
    first = services.theme_run_start(project=project, user=facilitator)
    first = services.theme_run_execute(run_id=first.pk, engine=FakeEngine())
    assert first.is_current and first.theme_count == 2
    # The only story's consent narrows: too little again, the old run stays current.
    story = Segment.objects.first().story
    consent_withdraw(story=story, user=reporter, keep={"record", "transcribe"})
    again = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator).pk,
        engine=FakeEngine(),
    )
    assert again.message == services.TOO_LITTLE_MESSAGE
    first.refresh_from_db()
    assert first.is_current
    # ...but nobody sees the narrowed story's quotes any more.
    theme = selectors.themes_visible_to(user=facilitator, project=project).first()
    assert selectors.theme_quotes(user=facilitator, theme=theme) == []


def test_an_engine_error_fails_the_run_with_a_plain_message(project, facilitator, three_stories):
    run = services.theme_run_start(project=project, user=facilitator)
    run = services.theme_run_execute(
        run_id=run.pk, engine=FakeEngine(error=MemoryError("out of memory in umap"))
    )
    assert run.status == RunStatus.FAILED and run.message == services.FAILED_MESSAGE
    assert "MemoryError" in run.error and not run.is_current
    # A failed run does not block the next one.
    assert services.theme_run_start(project=project, user=facilitator).pk != run.pk


def test_only_curators_start_runs(project, manager, other_reporter, steward, other_project):
    from django.core.exceptions import PermissionDenied

    from tests import factories

    outsider = factories.user_with_role("facilitator", other_project, username="olly")
    with pytest.raises(PermissionDenied):
        services.theme_run_start(project=project, user=manager)
    with pytest.raises(PermissionDenied):
        services.theme_run_start(project=project, user=outsider)
    assert services.theme_run_start(project=project, user=other_reporter).status == "queued"


def test_a_new_story_joins_the_current_themes_without_a_refit(
    project, reporter, steward, facilitator, three_stories, django_capture_on_commit_callbacks
):
    engine = FakeEngine()
    run = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator).pk, engine=engine
    )
    housing = Theme.objects.get(run=run, auto_label="housing, auto")
    # transcript_ready (sent by the transcription job) queues the assignment task.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        new = analysed_story(
            project,
            reporter,
            steward,
            ["The landlord put the rent up again.", "Nothing about anything."],
            teller="Eve",
            role="volunteer",
        )
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(task_path="themes.tasks.assign_story_task")
    assert queued.count() == 1 and queued.get().args_kwargs["kwargs"] == {"story_id": new.pk}
    assert callbacks

    placed = services.story_assign_incremental(story_id=new.pk, engine=engine)

    assert placed == 1 and len(engine.fitted) == 1  # assigned, not refitted
    housing.refresh_from_db()
    assert housing.size == 4 and housing.role_counts == {"service_user": 1, "volunteer": 1}
    quotes = [q.quote_text for q in selectors.theme_segments(user=facilitator, theme=housing)]
    assert "The landlord put the rent up again." in quotes
    # A story that may not be analysed is never placed.
    secret = analysed_story(
        project,
        reporter,
        steward,
        ["My landlord again."],
        teller="Fay",
        scopes={"record", "transcribe"},
    )
    assert services.story_assign_incremental(story_id=secret.pk, engine=engine) == 0
    assert not ThemeAssignment.objects.filter(story=secret).exists()


@pytest.mark.slow
def test_the_real_engine_finds_themes_in_a_thirteen_segment_project_and_places_new_stories(
    project, reporter, steward, facilitator, settings, django_capture_on_commit_callbacks
):
    from tests.themes.helpers import real_project

    real_project(project, reporter, steward)
    run = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator, enqueue=False).pk
    )
    assert run.status == RunStatus.DONE, run.error
    assert run.segment_count == 13 and run.theme_count >= 3
    assert run.outlier_count <= 2 and "bertopic" in run.engine_version
    assert "potion" in run.model_version or run.model_version

    def theme_of(text):
        return ThemeAssignment.objects.get(theme__run=run, segment__text=text).theme

    job = theme_of("Nobody would give me a job once they saw the conviction on my application.")
    home = theme_of(
        "The council housing list was years long and no landlord would rent a flat to "
        "someone with a record."
    )
    assert job != home and job.keywords and home.auto_label

    # A new story: transcript_ready queues the task, which places it with engine.assign.
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "transcription", "themes"],
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        new = analysed_story(
            project,
            reporter,
            steward,
            ["The landlord wanted two months rent up front before I could move into the flat."],
            teller="Dan",
        )
    placed = ThemeAssignment.objects.get(story=new)
    assert placed.theme == home and placed.theme.run == run
    home.refresh_from_db()
    assert home.storyteller_count == 2
