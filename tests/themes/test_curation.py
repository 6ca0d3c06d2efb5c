"""People shape the themes, and their decisions survive a full re-run."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from wagtail.models import ModelLogEntry

from tests import factories
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, FakeEngine, analysed_story
from themes import selectors, services
from themes.models import AssignmentSource, CurationEvent, Theme, ThemeAssignment
from transcription.models import Segment


def _run(project, user, engine):
    run = services.theme_run_start(project=project, user=user, enqueue=False)
    return services.theme_run_execute(run_id=run.pk, engine=engine)


def _by_label(run):
    return {t.display_label: t for t in Theme.objects.filter(run=run)}


def _segment(text):
    return Segment.objects.get(text=text, transcript__is_current=True)


@pytest.fixture
def stories(project, reporter, steward):
    return [
        analysed_story(project, reporter, steward, HOUSING, title="Housing", teller="Ann"),
        analysed_story(project, reporter, steward, WORK, title="Work", teller="Bob", role="staff"),
        analysed_story(project, reporter, steward, DRINK, title="Drink", teller="Cat"),
    ]


def test_curation_survives_a_full_rerun_with_a_new_story(
    project, reporter, steward, facilitator, stories
):
    engine = FakeEngine()
    first = _run(project, facilitator, engine)
    themes = _by_label(first)
    housing, work, drink = themes["housing, auto"], themes["work, auto"], themes["drink, auto"]

    services.theme_rename(theme=housing, label="A place to live", user=facilitator)
    services.theme_describe(
        theme=housing, description="Finding a home after prison.", user=reporter
    )
    services.theme_hide(theme=drink, user=facilitator)
    services.theme_merge(themes=[work], into=housing, user=facilitator)
    services.quote_pin(theme=housing, segment=_segment(HOUSING[1]), user=facilitator)
    services.assignment_move(
        segment=_segment(DRINK[0]), from_theme=drink, to_theme=housing, user=reporter
    )
    housing.refresh_from_db()
    assert housing.size == 7 and housing.storyteller_count == 3
    assert housing.role_counts == {"service_user": 2, "staff": 1}
    shown = selectors.themes_visible_to(user=facilitator, project=project, include_hidden=False)
    assert [t.display_label for t in shown] == ["A place to live"]
    assert selectors.theme_quotes(user=facilitator, theme=housing)[0].quote_text == HOUSING[1]
    assert CurationEvent.objects.filter(project=project).count() == 6
    assert ModelLogEntry.objects.filter(action="storyloom.themes.merge").count() == 1

    analysed_story(
        project,
        reporter,
        steward,
        ["The landlord put the rent up again.", *FAMILY],
        title="New",
        teller="Dan",
    )
    second = _run(project, facilitator, engine)

    assert second.is_current and second.pk != first.pk
    now = {t.stable_key: t for t in Theme.objects.filter(run=second)}
    home = now[housing.stable_key]
    assert home.label == "A place to live" and home.description.startswith("Finding a home")
    assert now[drink.stable_key].hidden
    assert now[work.stable_key].merged_into_id == home.pk  # the merge was replayed
    texts = {a.segment.text: a for a in ThemeAssignment.objects.filter(theme=home)}
    assert set(HOUSING + WORK) <= set(texts) and "The landlord put the rent up again." in texts
    assert texts[HOUSING[1]].pinned  # the pin
    assert texts[DRINK[0]].source == AssignmentSource.PERSON  # the move
    assert not ThemeAssignment.objects.filter(
        theme=now[drink.stable_key], segment__text=DRINK[0]
    ).exists()
    assert home.size == 8 and home.change == "grown"
    assert second.report == {
        "new": ["family, auto"],
        "grown": ["A place to live"],
        "shrunk": [],
        "vanished": [],
    }


def test_a_split_is_replayed_with_the_same_parts(project, facilitator, stories):
    engine = FakeEngine()
    first = _run(project, facilitator, engine)
    themes = _by_label(first)
    housing, work = themes["housing, auto"], themes["work, auto"]
    services.theme_merge(themes=[work], into=housing, user=facilitator)
    parts = services.theme_split(
        theme=Theme.objects.get(pk=housing.pk), user=facilitator, engine=engine
    )
    assert sorted(p.size for p in parts) == [3, 3]
    jobs = next(p for p in parts if "work" in p.keywords)
    services.theme_rename(theme=jobs, label="Jobs", user=facilitator)
    visible = selectors.themes_visible_to(user=facilitator, project=project)
    assert {t.display_label for t in visible} == {"Jobs", "housing, auto", "drink, auto"}

    second = _run(project, facilitator, engine)

    again = {t.stable_key: t for t in Theme.objects.filter(run=second)}
    assert again[jobs.stable_key].label == "Jobs"
    assert {a.segment.text for a in again[jobs.stable_key].assignments.all()} == set(WORK)
    visible = selectors.themes_visible_to(user=facilitator, project=project)
    assert {t.display_label for t in visible} == {"Jobs", "housing, auto", "drink, auto"}
    assert second.report["new"] == [] and second.report["vanished"] == []


def test_managers_read_themes_but_do_not_change_them(
    project, manager, facilitator, other_project, stories
):
    first = _run(project, facilitator, FakeEngine())
    theme = _by_label(first)["housing, auto"]
    assert selectors.themes_visible_to(user=manager, project=project).count() == 3
    with pytest.raises(PermissionDenied):
        services.theme_rename(theme=theme, label="Mine", user=manager)
    outsider = factories.user_with_role("facilitator", other_project, username="olly")
    assert not selectors.themes_visible_to(user=outsider, project=project).exists()
    with pytest.raises(PermissionDenied):
        services.theme_hide(theme=theme, user=outsider)
    theme.refresh_from_db()
    assert theme.label == "" and not theme.hidden


def test_managers_see_only_quotes_the_storyteller_agreed_to(
    project, reporter, steward, manager, facilitator
):
    analysed_story(project, reporter, steward, HOUSING, teller="Ann")
    analysed_story(
        project,
        reporter,
        steward,
        ["Another landlord story, not for quoting."],
        teller="Bea",
        scopes={"record", "transcribe", "analyse"},
    )
    run = _run(project, facilitator, FakeEngine())
    theme = Theme.objects.get(run=run)
    everyone = [q.quote_text for q in selectors.theme_segments(user=facilitator, theme=theme)]
    managers = [q.quote_text for q in selectors.theme_segments(user=manager, theme=theme)]
    assert "Another landlord story, not for quoting." in everyone
    assert "Another landlord story, not for quoting." not in managers and len(managers) == 3


def test_changing_an_old_runs_theme_is_refused(project, facilitator, stories):
    engine = FakeEngine()
    old = _by_label(_run(project, facilitator, engine))["housing, auto"]
    _run(project, facilitator, engine)
    with pytest.raises(ValidationError, match="reload"):
        services.theme_rename(theme=old, label="Too late", user=facilitator)


@pytest.mark.slow
def test_curation_survives_a_real_rerun(project, reporter, steward, facilitator):
    from tests.themes.helpers import REAL_STORIES, real_project

    real_project(project, reporter, steward)
    first = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator, enqueue=False).pk
    )
    assert first.theme_count >= 3, first.error

    def theme_of(run, text):
        return ThemeAssignment.objects.get(theme__run=run, segment__text=text).theme

    ann, bob, cat = REAL_STORIES["Ann"], REAL_STORIES["Bob"], REAL_STORIES["Cat"]
    home, job, family = theme_of(first, ann[1]), theme_of(first, bob[1]), theme_of(first, cat[2])
    services.theme_rename(theme=home, label="A place to live", user=facilitator)
    services.theme_hide(theme=family, user=facilitator)
    services.theme_merge(themes=[job], into=home, user=facilitator)
    services.quote_pin(theme=home, segment=_segment(ann[2]), user=facilitator)
    moved = _segment(cat[0])
    services.assignment_move(
        segment=moved, from_theme=theme_of(first, cat[0]), to_theme=home, user=facilitator
    )

    analysed_story(
        project,
        reporter,
        steward,
        ["The landlord wanted two months rent up front before I could move into the flat."],
        teller="Dan",
    )
    second = services.theme_run_execute(
        run_id=services.theme_run_start(project=project, user=facilitator, enqueue=False).pk
    )

    assert second.is_current and second.status == "done"
    now_home = selectors.themes_visible_to(user=facilitator, project=project).get(
        stable_key=home.stable_key
    )
    assert now_home.label == "A place to live"
    texts = {a.segment.text: a for a in now_home.assignments.all()}
    assert {ann[1], bob[1]} <= set(texts)  # the merge, replayed
    assert texts[ann[2]].pinned
    assert texts[cat[0]].source == AssignmentSource.PERSON
    assert theme_of(second, cat[2]).hidden
    assert "A place to live" in second.report["grown"]
