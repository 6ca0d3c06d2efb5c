"""Who may do what in the admin: managers update, facilitators create, stewards do
everything, reporters see only their stories' trail; another project's action is a 404."""

import io

import pytest
from django.core.files import File
from django.urls import reverse
from wagtail.models import ModelLogEntry

from actions import services
from actions.demo import demo_evidence_pdf
from actions.models import Action
from tests import factories
from tests.actions.conftest import status


def snippet_url(name, *args):
    return reverse(f"wagtailsnippets_actions_action:{name}", args=args)


def form_data(action=None, **values):
    data = {
        "title": action.title if action else "",
        "description": action.description if action else "",
        "owner": action.owner_id if action and action.owner_id else "",
        "team": "",
        "status": action.status_id if action else "",
        "status_reason": "",
        "progress": action.progress if action else 0,
        "start_date": "",
        "due_date": "",
        "parent": "",
        "proposal": "",
        "visibility": "team",
        "public_summary": "",
        "edit_version": action.version if action else "",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def evidence_update(simple_action, manager):
    return services.action_post_update(
        action=simple_action,
        user=manager,
        text="Minutes of the meeting",
        evidence=File(io.BytesIO(demo_evidence_pdf("Minutes")), name="minutes.pdf"),
    )


def test_another_projects_manager_gets_404_everywhere(
    simple_action, evidence_update, other_manager, client
):
    client.force_login(other_manager)
    for url in [
        reverse("actions_admin:detail", args=[simple_action.pk]),
        snippet_url("edit", simple_action.pk),
        snippet_url("history", simple_action.pk),
        reverse("actions:evidence", args=[evidence_update.pk]),
        reverse("actions_admin:report") + f"?project={simple_action.project_id}",
    ]:
        assert client.get(url).status_code == 404, url
    listing = client.get(snippet_url("list"))
    assert "Answer the phone faster" not in listing.content.decode()


def test_a_reporter_sees_no_actions_admin(simple_action, reporter, client):
    client.force_login(reporter)
    assert client.get(reverse("actions_admin:detail", args=[simple_action.pk])).status_code == 404
    assert client.get(reverse("actions_admin:report")).status_code == 404
    assert client.get(snippet_url("edit", simple_action.pk)).status_code == 404


def test_a_facilitator_creates_an_action_but_does_not_change_it(
    project, facilitator, manager, client
):
    client.force_login(facilitator)
    form = client.get(snippet_url("add"))
    assert form.status_code == 200
    assert "Who, how far, when" in form.content.decode()
    response = client.post(
        snippet_url("add"),
        form_data(
            project=project.pk, title="Quiet room", owner=manager.pk, status=status("proposed").pk
        ),
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    action = Action.objects.get(title="Quiet room")
    assert action.created_by == facilitator and action.owner == manager
    assert action.revisions.count() == 1
    response = client.post(snippet_url("edit", action.pk), form_data(action, title="Changed"))
    assert response.status_code in (302, 403)
    assert Action.objects.get(pk=action.pk).title == "Quiet room"
    # Nor may a facilitator post updates.
    response = client.post(
        reverse("actions_admin:post_update", args=[action.pk]),
        {"text": "x", "version": action.version},
    )
    assert response.status_code == 404


def test_a_manager_edits_and_a_stale_page_is_refused_with_a_clear_message(
    simple_action, manager, steward, client
):
    client.force_login(manager)
    opened = Action.objects.get(pk=simple_action.pk)  # the manager opens the edit page
    page = client.get(snippet_url("edit", simple_action.pk)).content.decode()
    assert f'name="edit_version" value="{opened.version}"' in page
    services.action_edit(
        action=opened, user=steward, expected_version=opened.version, title="Steward's words"
    )
    response = client.post(
        snippet_url("edit", simple_action.pk), form_data(opened, title="Manager's words")
    )
    assert response.status_code == 200
    assert "Someone else saved this action while you were working on it" in (
        response.content.decode()
    )
    assert Action.objects.get(pk=simple_action.pk).title == "Steward's words"
    fresh = Action.objects.get(pk=simple_action.pk)
    response = client.post(
        snippet_url("edit", fresh.pk),
        form_data(fresh, title="Manager's words", progress=150),
    )
    assert "Progress must be a whole number from 0 to 100." in response.content.decode()
    response = client.post(snippet_url("edit", fresh.pk), form_data(fresh, title="Manager's words"))
    assert response.status_code == 302
    assert Action.objects.get(pk=simple_action.pk).title == "Manager's words"


def test_posting_an_update_on_the_action_page(simple_action, manager, client):
    client.force_login(manager)
    url = reverse("actions_admin:post_update", args=[simple_action.pk])
    refused = client.post(
        url, {"text": "", "status": status("wont_do").pk, "version": simple_action.version}
    )
    assert refused.status_code == 400
    assert "needs a reason" in refused.content.decode()
    done = client.post(
        url,
        {"text": "Finished", "status": status("done").pk, "version": simple_action.version},
    )
    assert done.status_code == 302
    action = Action.objects.get(pk=simple_action.pk)
    assert (action.status.key, action.progress) == ("done", 100)
    stale = client.post(url, {"text": "Old page", "progress": 20, "version": simple_action.version})
    assert stale.status_code == 400
    assert "Someone else saved this action" in stale.content.decode()


def test_evidence_is_served_only_to_the_team_and_each_opening_is_logged(
    simple_action, evidence_update, manager, facilitator, reporter, client
):
    url = reverse("actions:evidence", args=[evidence_update.pk])
    assert client.get(url).status_code == 302  # log in first
    client.force_login(reporter)
    assert client.get(url).status_code == 404
    client.force_login(facilitator)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["Cache-Control"] == "no-store"
    opened = ModelLogEntry.objects.for_instance(simple_action).filter(
        action="storyloom.actions.evidence_view"
    )
    assert opened.get().user == facilitator


def test_only_stewards_delete_actions_and_configure_statuses(simple_action, manager, client):
    client.force_login(manager)
    client.post(snippet_url("delete", simple_action.pk))
    assert Action.objects.filter(pk=simple_action.pk).exists()
    assert client.get(reverse("action_statuses:index")).status_code != 200
    steward = factories.steward(username="sue")
    client.force_login(steward)
    assert client.get(reverse("action_statuses:index")).status_code == 200
    response = client.post(snippet_url("delete", simple_action.pk))
    assert response.status_code == 302
    assert not Action.objects.filter(pk=simple_action.pk).exists()


def test_a_story_page_in_the_admin_links_to_its_impact_trail(world, client):
    client.force_login(world.steward)
    html = client.get(
        reverse("wagtailadmin_pages:edit", args=[world.housing_story.pk])
    ).content.decode()
    assert reverse("actions_admin:impact", args=[world.housing_story.pk]) in html
