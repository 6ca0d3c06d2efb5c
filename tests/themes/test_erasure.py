"""Erasure, the themes' part (issue 8): a story whose storyteller no longer agrees to
analysis, or that is erased, leaves nothing in the themes (no assignment, no segment id, no
fitted model or vector, no keyword that only it gave), and the themes are found again
without it, once. Words hidden by a redaction are never shown as keywords or labels."""

import json

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry, PageLogEntry

from stories import erasure
from stories.models import ErasureRequest
from stories.services import consent_withdraw
from tests.factories import PASSWORD
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services
from themes.erasure import themes_erasure_step
from themes.models import (
    CurationAction,
    CurationEvent,
    RunStatus,
    Theme,
    ThemeAssignment,
    ThemeRun,
)
from transcription.models import RedactionKind, Segment
from transcription.redaction_services import redaction_add

DEE = ["My probation officer helped me find housing after I was evicted."]


@pytest.fixture
def stories(project, reporter, steward):
    return {
        "ann": analysed_story(project, reporter, steward, HOUSING[:2], teller="Ann"),
        "bob": analysed_story(project, reporter, steward, WORK, teller="Bob", role="staff"),
        "cat": analysed_story(project, reporter, steward, DRINK, teller="Cat"),
        "dee": analysed_story(project, reporter, steward, DEE, teller="Dee"),
    }


def _run(project, user, engine=None) -> ThemeRun:
    started = services.theme_run_start(project=project, user=user, enqueue=False)
    return services.theme_run_execute(run_id=started.pk, engine=engine or FakeEngine())


def _withdraw(story, user, drop: set[str]) -> ErasureRequest:
    """Narrow (or withdraw) the story's consent, then run the erasure job it starts."""
    consent_withdraw(story=story, user=user, keep=story.current_consent.scopes - drop)
    request = ErasureRequest.objects.filter(story=story).latest("pk")
    return erasure.erasure_run(request_id=request.pk)


def _theme(run, name) -> Theme:
    return Theme.objects.get(run=run, auto_label=f"{name}, auto")


def test_withdrawing_analysis_takes_the_story_out_of_every_theme_and_finds_them_again_once(
    project, reporter, facilitator, stories, django_capture_on_commit_callbacks
):
    dee = stories["dee"]
    [dee_segment] = Segment.objects.filter(story=dee)
    _run(project, facilitator)
    current = _run(project, facilitator)  # an older run and the current one both saw Dee
    housing, work = _theme(current, "housing"), _theme(current, "work")
    assert {"evicted", "housing"} <= set(housing.keywords) and housing.storyteller_count == 2
    # People moved and pinned Dee's words into another theme.
    services.assignment_move(
        segment=dee_segment, from_theme=housing, to_theme=work, user=facilitator
    )
    services.quote_pin(theme=work, segment=dee_segment, user=facilitator)
    assert Theme.objects.get(pk=work.pk).storyteller_count == 2

    with django_capture_on_commit_callbacks() as callbacks:
        done = _withdraw(dee, reporter, {"analyse"})

    assert done.status == "done"
    removed = done.ledger["themes"]["removed"]
    assert removed["theme assignments"] == 2  # one in the older run, one in the current
    assert removed["fitted theme models"] == 2 and removed["theme runs queued"] == 1
    assert removed["people's decisions about its quotes"] == 2
    assert all(isinstance(count, int) for count in removed.values())
    assert not ThemeAssignment.objects.filter(story=dee).exists()
    assert not ThemeRun.objects.filter(project=project, fitted_state__isnull=False).exists()
    for theme in Theme.objects.filter(project=project):
        assert dee_segment.pk not in theme.model_segment_ids
        assert not {"evicted", "housing"} & set(theme.keywords), theme.keywords
        assert "housing" not in theme.auto_label
        assert theme.centroid == [] and theme.map_x is None
    for run in ThemeRun.objects.filter(project=project):
        assert dee.pk not in run.story_ids
    housing.refresh_from_db()
    assert (housing.size, housing.storyteller_count) == (2, 1)
    assert set(housing.keywords) == {"flat", "hostel", "landlord", "rent"}
    assert housing.auto_label.startswith("auto, ")  # rebuilt from the keywords left
    work.refresh_from_db()
    assert (work.size, work.storyteller_count, work.role_counts) == (3, 1, {"staff": 1})
    assert work.auto_label == "work, auto" and "employer" in work.keywords
    assert not CurationEvent.objects.filter(
        action__in=[CurationAction.MOVE, CurationAction.PIN]
    ).exists()
    assert not ModelLogEntry.objects.filter(
        action="storyloom.themes.move", data__segment=dee_segment.pk
    ).exists()

    # One new run is queued (its task once the erasure commits), by nobody in particular.
    queued = ThemeRun.objects.get(project=project, status=RunStatus.QUEUED)
    assert queued.created_by is None
    assert len([c for c in callbacks if c.__module__ == "themes.services"]) == 1
    # The step again finds nothing to remove and queues nothing more.
    scope = erasure.ErasureScope(story_id=dee.pk, full=False, removed=frozenset({"analyse"}))
    assert not any(themes_erasure_step(scope).values())
    assert ThemeRun.objects.filter(project=project, status=RunStatus.QUEUED).count() == 1

    engine = FakeEngine()
    fresh = services.theme_run_execute(run_id=queued.pk, engine=engine)
    assert fresh.is_current and fresh.story_count == 3
    assert not any("evicted" in document for document in engine.fitted[0])
    assert not ThemeAssignment.objects.filter(theme__run=fresh, story=dee).exists()


def test_erasing_the_only_story_empties_the_themes_and_queues_no_run(
    project, reporter, steward, facilitator
):
    only = analysed_story(project, reporter, steward, HOUSING + WORK, teller="Ann")
    run = _run(project, facilitator)
    assert run.theme_count == 2 and run.fitted_state

    done = _withdraw(only, reporter, set(only.current_consent.scopes))

    assert done.status == "done" and "theme runs queued" not in done.ledger["themes"]["removed"]
    assert list(ThemeRun.objects.filter(project=project)) == [run]
    run.refresh_from_db()
    assert run.fitted_state is None and run.story_ids == []
    for theme in Theme.objects.filter(run=run):
        assert (theme.size, theme.storyteller_count, theme.keywords) == (0, 0, [])


def test_a_run_fitting_while_consent_is_withdrawn_stores_nothing_and_starts_again(
    project, reporter, facilitator, stories, django_capture_on_commit_callbacks
):
    dee = stories["dee"]

    def withdraw_meanwhile():
        consent_withdraw(story=dee, user=reporter, keep=dee.current_consent.scopes - {"analyse"})

    started = services.theme_run_start(project=project, user=facilitator, enqueue=False)
    with django_capture_on_commit_callbacks():
        run = services.theme_run_execute(
            run_id=started.pk, engine=FakeEngine(on_fit=withdraw_meanwhile)
        )

    assert run.status == RunStatus.DONE and not run.is_current
    assert run.message == services.WITHDRAWN_MESSAGE and run.fitted_state is None
    assert not Theme.objects.filter(run=run).exists()
    again = ThemeRun.objects.get(project=project, status=RunStatus.QUEUED)
    rerun = services.theme_run_execute(run_id=again.pk, engine=FakeEngine())
    assert rerun.is_current and rerun.story_count == 3
    assert not ThemeAssignment.objects.filter(story=dee).exists()


def test_no_longer_agreeing_to_voice_leaves_the_themes_as_they_are(
    project, reporter, facilitator, stories
):
    run = _run(project, facilitator)

    done = _withdraw(stories["dee"], reporter, {"voice"})

    assert done.status == "done" and done.ledger["themes"]["removed"] == {}
    run.refresh_from_db()
    assert run.fitted_state and ThemeAssignment.objects.filter(story=stories["dee"]).exists()
    assert not ThemeRun.objects.filter(status=RunStatus.QUEUED).exists()


def test_a_word_hidden_by_a_redaction_is_never_shown_as_a_keyword_or_label(
    client, project, reporter, facilitator, stories, django_capture_on_commit_callbacks
):
    run = _run(project, facilitator)
    housing = _theme(run, "housing")
    services.theme_rename(theme=housing, label="Housing in town", user=facilitator)
    [segment] = Segment.objects.filter(story=stories["dee"])
    start = segment.text.index("housing")

    with django_capture_on_commit_callbacks(execute=True):
        redaction_add(
            segment=segment,
            start_char=start,
            end_char=start + len("housing"),
            kind=RedactionKind.PLACE,
            user=reporter,
        )

    housing.refresh_from_db()
    assert "housing" not in housing.keywords and "evicted" in housing.keywords
    assert "housing" not in housing.auto_label.lower() and housing.auto_label.endswith(", auto")
    labels = ModelLogEntry.objects.filter(action="storyloom.themes.rename")
    assert labels and all("housing" not in entry.label.lower() for entry in labels)
    assert client.login(username=facilitator.username, password=PASSWORD)
    pages = [
        reverse("themes_admin:project", args=[project.pk]),
        reverse("themes_admin:theme", args=[project.pk, housing.pk]),
        reverse("themes_admin:chart", args=[project.pk, "map", "svg"]),
        reverse("themes_admin:chart", args=[project.pk, "roles", "svg"]),
    ]
    for url in pages:
        response = client.get(url)
        shown = response.content.decode()
        assert response.status_code == 200
        assert "housing" not in shown.lower(), url
    assert "in town" in client.get(pages[0]).content.decode()


# --- The real engine ---------------------------------------------------------------------

PLANTED = "quizzleflarp"


def _assert_no_trace(project, story_id):
    word = PLANTED.encode()
    for run in ThemeRun.objects.filter(project=project):
        assert run.fitted_state is None or word not in bytes(run.fitted_state)
        assert story_id not in run.story_ids
    for model in (ThemeRun, Theme, ThemeAssignment, CurationEvent):
        for row in model.objects.values():
            assert PLANTED not in repr(row).lower(), (model.__name__, row)
    for entry in [*ModelLogEntry.objects.all(), *PageLogEntry.objects.all()]:
        assert PLANTED not in (entry.label + json.dumps(entry.data)).lower()


@pytest.mark.slow
def test_a_planted_word_leaves_no_trace_in_themes_or_fitted_models_after_erasure(
    project, reporter, steward, facilitator
):
    from tests.themes.helpers import real_project
    from themes import engines

    real_project(project, reporter, steward)
    zed = analysed_story(
        project,
        reporter,
        steward,
        [
            f"The {PLANTED} at the probation office lost my {PLANTED} papers again.",
            f"Every week the {PLANTED} asked me for the same {PLANTED} forms.",
            f"I still dream about the {PLANTED} and the long {PLANTED} queue.",
        ],
        teller="Zed",
    )
    # The TF-IDF embedding keeps its fitted vocabulary in the run's state: the hardest case.
    engine = engines.get_engine("tfidf")
    run = _run(project, facilitator, engine)
    assert run.theme_count >= 2, run.error
    assert PLANTED.encode() in bytes(run.fitted_state)  # the check below can fail
    assert any(PLANTED in theme.keywords for theme in Theme.objects.filter(run=run))

    done = _withdraw(zed, reporter, set(zed.current_consent.scopes))

    assert done.status == "done" and done.ledger["themes"]["removed"]["theme runs queued"] == 1
    _assert_no_trace(project, zed.pk)
    queued = ThemeRun.objects.get(project=project, status=RunStatus.QUEUED)
    fresh = services.theme_run_execute(run_id=queued.pk, engine=engine)
    assert fresh.is_current and fresh.theme_count >= 2 and fresh.fitted_state
    assert fresh.story_count == 3
    _assert_no_trace(project, zed.pk)
