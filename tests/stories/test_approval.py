"""The data steward's approval, through Wagtail's own workflow views, and what it opens up."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from wagtail.models import PageLogEntry, TaskState

from stories import selectors
from stories.models import StoryPage
from tests import factories


@pytest.fixture
def submitted(project, reporter):
    return factories.story(project, reporter, title="Night shelter", text="Cold.", submit=True)


def task_state_for(story) -> TaskState:
    return TaskState.objects.get(
        workflow_state__base_content_type__model="page",
        workflow_state__object_id=str(story.pk),
        status=TaskState.STATUS_IN_PROGRESS,
    )


def approve_url(story) -> str:
    return reverse(
        "wagtailadmin_pages:workflow_action", args=[story.pk, "approve", task_state_for(story).pk]
    )


def served(story, user):
    """What StoryPage.serve answers: the (unrendered) page, or Http404."""
    request = RequestFactory().get(story.url)
    request.user = user
    return StoryPage.objects.get(pk=story.pk).serve(request)


def is_live(story) -> bool:
    return StoryPage.objects.get(pk=story.pk).live


def test_the_steward_is_asked_to_review_and_approves(client, submitted, steward, reporter):
    client.force_login(steward)

    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Awaiting your review" in dashboard
    assert "Night shelter" in dashboard
    url = approve_url(submitted)
    assert url in dashboard  # the approve button on the dashboard is this action

    response = client.post(url, {"comment": "Fine to use."})

    assert response.status_code == 302
    assert is_live(submitted)
    assert not StoryPage.objects.get(pk=submitted.pk).workflow_in_progress
    approval = PageLogEntry.objects.get(page=submitted, action="wagtail.workflow.approve")
    assert approval.user == steward
    assert PageLogEntry.objects.filter(page=submitted, action="wagtail.publish").exists()
    assert PageLogEntry.objects.get(page=submitted, action="storyloom.story.submit").user == (
        reporter
    )


def test_the_reporters_dashboard_does_not_offer_the_review(client, submitted, reporter):
    client.force_login(reporter)
    dashboard = client.get(reverse("wagtailadmin_home")).content.decode()
    assert approve_url(submitted) not in dashboard


@pytest.mark.parametrize("who", ["reporter", "facilitator", "other_reporter"])
def test_nobody_but_a_steward_can_approve(client, request, submitted, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post(approve_url(submitted), {"comment": ""})

    # The author is sent back with "no permission"; others are not told the story exists.
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"] == reverse("wagtailadmin_home")
        follow = client.get(response["Location"])
        assert "do not have permission" in follow.content.decode()
    assert not is_live(submitted)
    assert task_state_for(submitted).status == TaskState.STATUS_IN_PROGRESS
    assert not PageLogEntry.objects.filter(
        page=submitted, action__in=["wagtail.workflow.approve", "wagtail.publish"]
    ).exists()


def test_the_author_is_refused_by_wagtail_not_hidden(client, submitted, reporter):
    client.force_login(reporter)
    response = client.post(approve_url(submitted), {"comment": ""})
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert not is_live(submitted)


def test_what_approval_opens_up(submitted, steward, reporter, facilitator, other_project, client):
    elsewhere = factories.user_with_role("reporter", other_project, username="bea")
    anonymous = AnonymousUser()

    for user in (facilitator, elsewhere, anonymous):
        assert submitted not in selectors.stories_visible_to(user=user)
        with pytest.raises(Http404):
            served(submitted, user)
    assert served(submitted, reporter).status_code == 200
    assert served(submitted, steward).status_code == 200

    client.force_login(steward)
    client.post(approve_url(submitted), {"comment": ""})
    assert is_live(submitted)

    assert submitted in selectors.stories_visible_to(user=facilitator)
    assert served(submitted, facilitator).status_code == 200
    for user in (elsewhere, anonymous):
        assert submitted not in selectors.stories_visible_to(user=user)
        with pytest.raises(Http404):
            served(submitted, user)
    client.logout()
    assert client.get(submitted.url).status_code == 404
