"""Redis (the task queue) down while an editor saves in the Wagtail admin.

Wagtail queues a task of its own on every save, to keep its reference index (the "Usage" of
snippets, users and pages, and what may be deleted) up to date. It queues it from inside the
save, not after the commit, so with Redis down the save itself failed. With the task backend
Storyloom ships for Redis, Wagtail's own tasks run in the web process (as they do in a
Wagtail site with no task queue): the save goes through, and the index is up to date at once.
"""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from wagtail.models import ReferenceIndex
from wagtail.search.models import IndexEntry

from actions import services as action_services
from actions.models import Action, ActionStatus
from stories import services as story_services
from stories.models import StoryPage
from tests import factories
from tests.test_task_backends import REDIS_URL
from transcription.models import TranscriptionJob

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there
# What cms/settings.py configures when REDIS_URL is set (tests/test_settings.py checks it).
SHIPPED_BACKEND = "cms.task_backends.RQBackend"


def rq_settings(settings, url):
    settings.RQ_QUEUES = {
        name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in settings.TASK_QUEUES
    }
    settings.TASKS = {"default": {"BACKEND": SHIPPED_BACKEND, "QUEUES": settings.TASK_QUEUES}}


def submit(client, url, **changes):
    """Open the edit page and send its form back as a browser would, with `changes`."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    soup = BeautifulSoup(page.content, "html.parser")
    form = next(
        f
        for f in soup.find_all("form", method=lambda m: m and m.lower() == "post")
        if f.get("action") in (url, None, "") and f.find(attrs={"name": "csrfmiddlewaretoken"})
    )
    data = {}
    for field in form.find_all(["input", "select", "textarea"]):
        name = field.get("name")
        if not name or field.has_attr("disabled"):
            continue
        if field.name == "textarea":
            data[name] = field.text
        elif field.name == "select":
            chosen = field.find_all("option", selected=True)
            if not chosen and not field.has_attr("multiple"):
                chosen = field.find_all("option")[:1]  # what a browser sends
            data[name] = [o.get("value", o.text) for o in chosen]
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field.get("value", "on"))
        elif field.get("type") not in ("submit", "button", "file", "image", "reset"):
            data[name] = field.get("value", "")
    data.update(changes)
    return client.post(url, data)


def references_to(obj) -> set[tuple[str, str]]:
    """What Wagtail's "Usage" shows for `obj`: (model, id) of each object referring to it."""
    return {
        (ref.base_content_type.model, ref.object_id)
        for ref in ReferenceIndex.get_references_to(obj)
    }


def found(words) -> list[int]:
    return [page.pk for page in StoryPage.objects.search(words)]


@pytest.fixture
def story(project, reporter):
    return factories.story(project, reporter, title="Waiting room")


def test_with_redis_down_a_story_page_is_saved_in_the_admin_and_its_usage_kept(
    story, steward, client, settings
):
    teller = story.storyteller
    # Both indexes out of date, as if a queued update had been lost.
    ReferenceIndex.objects.all().delete()
    IndexEntry.objects.all().delete()
    assert references_to(teller) == set() and not found("Waiting")
    rq_settings(settings, DEAD_REDIS)
    client.force_login(steward)

    response = submit(
        client, reverse("wagtailadmin_pages:edit", args=[story.pk]), title="Waiting room, again"
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    story.refresh_from_db()
    assert story.get_latest_revision_as_object().title == "Waiting room, again"
    assert references_to(teller) == {("page", str(story.pk))}
    assert found("Waiting") == [story.pk]  # the search index, brought up to date too


def test_with_redis_down_an_action_is_saved_in_the_admin_and_its_usage_kept(
    project, facilitator, manager, client, settings
):
    action = action_services.action_create(
        project=project, user=facilitator, title="Answer the phone faster", owner=manager
    )
    old = action.status
    new = ActionStatus.objects.exclude(pk=old.pk).order_by("pk").first()
    rq_settings(settings, DEAD_REDIS)
    client.force_login(manager)

    response = submit(
        client,
        reverse("wagtailsnippets_actions_action:edit", args=[action.pk]),
        status=new.pk,
        status_reason="The phones are being replaced",
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Action.objects.get(pk=action.pk).status == new
    assert ("action", str(action.pk)) in references_to(new)
    assert ("action", str(action.pk)) not in references_to(old)


def test_with_redis_up_wagtails_upkeep_stays_in_the_web_process_and_jobs_go_to_redis(
    story, reporter, steward, client, settings, redis_db, django_capture_on_commit_callbacks
):
    rq_settings(settings, REDIS_URL)
    client.force_login(steward)

    response = submit(client, reverse("wagtailadmin_pages:edit", args=[story.pk]))

    assert response.status_code == 302
    assert redis_db.llen("rq:queue:default") == 0  # nothing for a worker to catch up on
    assert references_to(story.storyteller) == {("page", str(story.pk))}
    # Storyloom's own jobs still go to Redis, once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        story_services.story_submit(story=StoryPage.objects.get(pk=story.pk), user=reporter)
    assert TranscriptionJob.objects.filter(story=story).exists()
    assert redis_db.llen("rq:queue:transcription") == 1
