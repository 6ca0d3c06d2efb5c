"""A small project with analysed stories, themes, a held workshop and an accepted proposal:
made through the real services (the theme engine is the stand-in from the theme tests;
the real engine is tested there)."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from actions import services
from actions.models import ActionStatus
from tests import factories
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, FakeEngine, analysed_story
from themes import services as theme_services
from themes.models import Theme
from transcription.models import Segment
from workshops.models import Decision, Proposal, WorkshopPage

NO_PUBLISH = {"record", "transcribe", "analyse", "quote", "voice"}
WORKSHOP_DATE = datetime.date(2026, 9, 1)


def status(key) -> ActionStatus:
    return ActionStatus.objects.get(key=key)


def theme_run(project, user, engine=None):
    run = theme_services.theme_run_start(project=project, user=user, enqueue=False)
    return theme_services.theme_run_execute(run_id=run.pk, engine=engine or FakeEngine())


def themes_by_name(project) -> dict[str, Theme]:
    """Current themes by their vocabulary name (housing, work, drink, family)."""
    found = {}
    for theme in Theme.objects.filter(project=project, run__is_current=True):
        found[theme.auto_label.split(",")[0]] = theme
    return found


def segment(text) -> Segment:
    return Segment.objects.get(text=text, transcript__is_current=True)


def workshop(project, title="Listening workshop", date=WORKSHOP_DATE) -> WorkshopPage:
    page = WorkshopPage(title=title, slug=title.lower().replace(" ", "-"), date=date)
    project.add_child(instance=page)
    return page


def proposal(page, *, title, themes=(), quotes=(), decision=Decision.ACCEPTED) -> Proposal:
    made = Proposal.objects.create(
        workshop=page,
        title=title,
        description="Proposed at the workshop.",
        decision=decision,
        votes_for=9,
        votes_against=1,
        decided_at=timezone.now(),
    )
    made.themes.set(themes)
    made.quotes.set(quotes)
    return made


@dataclass
class World:
    project: object
    reporter: object
    other_reporter: object
    facilitator: object
    manager: object
    steward: object
    housing_story: object  # rita's, may be published
    work_story: object  # rita's, no consent to publish
    drink_story: object  # omar's, may be published
    themes: dict
    workshop: object
    proposal: object


@pytest.fixture(name="world")
def world_fixture(project, reporter, other_reporter, facilitator, manager, steward):
    housing = analysed_story(project, reporter, steward, HOUSING, title="No flat", teller="Ann")
    work = analysed_story(
        project, reporter, steward, WORK, title="No job", teller="Bob", scopes=NO_PUBLISH
    )
    drink = analysed_story(project, other_reporter, steward, DRINK, title="Pub", teller="Cat")
    analysed_story(project, other_reporter, steward, FAMILY, title="Kids", teller="Dan")
    theme_run(project, facilitator)
    themes = themes_by_name(project)
    page = workshop(project)
    accepted = proposal(
        page,
        title="Help with housing on release",
        themes=[themes["housing"]],
        quotes=[segment(HOUSING[0])],
    )
    return World(
        project=project,
        reporter=reporter,
        other_reporter=other_reporter,
        facilitator=facilitator,
        manager=manager,
        steward=steward,
        housing_story=housing,
        work_story=work,
        drink_story=drink,
        themes=themes,
        workshop=page,
        proposal=accepted,
    )


def make_action(world, *, title="An action", user=None, **fields):
    fields.setdefault("owner", world.manager)
    return services.action_create(
        project=world.project, user=user or world.facilitator, title=title, **fields
    )


@pytest.fixture
def simple_action(project, facilitator, manager):
    """An action in a project without stories or themes."""
    return services.action_create(
        project=project, user=facilitator, title="Answer the phone faster", owner=manager
    )


@pytest.fixture
def other_manager(other_project):
    return factories.user_with_role("manager", other_project, username="mo")
