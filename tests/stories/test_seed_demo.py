from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from wagtail.models import WorkflowState

from cms.models import ProjectPage
from cms.roles import Role
from cms.selectors import project_roles_for_user
from stories.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_STORIES
from stories.models import CONSENT_SCOPES, StoryMedia, StoryPage, StorytellerRole


def seed(*flags):
    out = StringIO()
    call_command("seed_demo", *flags, stdout=out)
    return out.getvalue()


def test_every_demo_story_is_short_and_speaks_in_many_voices():
    assert len(DEMO_STORIES) == 12
    for story in DEMO_STORIES:
        assert 60 <= len(story.text.split()) <= 120, story.title
    assert len({s.pseudonym for s in DEMO_STORIES}) == 12
    assert {s.role for s in DEMO_STORIES} >= {
        StorytellerRole.SERVICE_USER,
        StorytellerRole.STAFF,
        StorytellerRole.VOLUNTEER,
        StorytellerRole.FAMILY,
    }
    assert len({s.voice for s in DEMO_STORIES}) >= 4
    assert sum(s.approve for s in DEMO_STORIES) == 9


@pytest.mark.slow
def test_seed_demo_builds_a_programme_with_real_recordings(db, client):
    out = seed("--if-empty")

    project = ProjectPage.objects.get(slug=DEMO_SLUG)
    assert project.title == "Probation voices (demo)"
    assert project.organisation == "Riverside Community Rehabilitation Company (fictional)"
    assert {"OGRS", "Enabling Fund", "unpaid work", "peer mentor", "the hub"} <= set(
        project.vocabulary
    )

    stories = StoryPage.objects.descendant_of(project)
    assert stories.count() == 12
    for story in stories:
        recording = story.media.get(role=StoryMedia.Role.RECORDING)
        assert recording.content_type == "audio/wav"
        assert recording.duration_seconds > 3, story.title
        assert recording.file.size > 50_000
        assert "fictional" in {t.name for t in story.tags.all()}
        assert story.summary.startswith("Fictional demo story.")
        assert story.language == "en"
        assert story.current_consent.method == "verbal"
    assert stories.filter(live=True).count() == 9
    waiting = stories.filter(live=False)
    assert waiting.count() == 3
    for story in waiting:
        state = WorkflowState.objects.get(object_id=str(story.pk), status="in_progress")
        assert state.current_task_state.task.name == "Data steward approves for analysis"
    narrower = [s for s in stories if s.current_consent.scopes != set(CONSENT_SCOPES)]
    assert len(narrower) == 2 and all("record" in s.current_consent.scopes for s in narrower)
    assert len({s.storyteller.pseudonym for s in stories}) == 12
    assert len({s.reporter.username for s in stories}) == 2

    users = get_user_model().objects
    steward = users.get(username="steward")
    assert steward.is_superuser and steward.groups.filter(name="Data stewards").exists()
    assert project_roles_for_user(user=users.get(username="reporter"), project=project) == {
        Role.REPORTER
    }
    assert project_roles_for_user(user=users.get(username="reporter2"), project=project) == {
        Role.REPORTER
    }
    assert project_roles_for_user(user=users.get(username="facilitator"), project=project) == {
        Role.FACILITATOR
    }
    assert project_roles_for_user(user=users.get(username="manager"), project=project) == {
        Role.MANAGER
    }
    for username in ("steward", "reporter", "reporter2", "facilitator", "manager"):
        assert client.login(username=username, password=DEMO_PASSWORD), username
        assert username in out
    assert DEMO_PASSWORD in out

    counts = (ProjectPage.objects.count(), StoryPage.objects.count(), users.count())
    media = set(StoryMedia.objects.values_list("pk", flat=True))
    again = seed("--if-empty")
    assert "left as it is" in again
    assert (ProjectPage.objects.count(), StoryPage.objects.count(), users.count()) == counts
    assert set(StoryMedia.objects.values_list("pk", flat=True)) == media

    with pytest.raises(CommandError, match="already there"):
        seed()


def test_seed_demo_if_empty_leaves_a_database_with_projects_alone(project):
    assert "left as it is" in seed("--if-empty")
    assert not ProjectPage.objects.filter(slug=DEMO_SLUG).exists()
    assert not get_user_model().objects.filter(username="steward").exists()


def test_seed_demo_says_what_to_install_without_espeak(db, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no espeak-ng on the path

    with pytest.raises(CommandError, match="install the Debian package espeak-ng"):
        seed()

    assert not ProjectPage.objects.exists() and not StoryPage.objects.exists()
