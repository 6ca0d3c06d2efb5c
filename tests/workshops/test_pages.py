"""Workshops are pages: for the project's people only (404 for everyone else), edited by
the project's facilitators, with Wagtail's revisions, preview and approval workflow."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests import factories
from tests.themes.helpers import HOUSING, analysed_story
from transcription.models import Segment
from workshops import services


def _publish(workshop, steward):
    workshop.refresh_from_db()
    workshop.latest_revision.publish(user=steward)
    workshop.refresh_from_db()
    return workshop


def test_the_workshop_page_is_for_the_projects_people_only(
    client, login, workshop, steward, manager, reporter, other_project
):
    _publish(workshop, steward)
    url = workshop.url
    assert client.get(url).status_code == 404  # not logged in: nobody learns it exists
    login(factories.user_with_role("manager", other_project, username="otto"))
    assert client.get(url).status_code == 404
    for member in (manager, reporter):
        login(member)
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Participant pack" in html and HOUSING[0] in html
        assert "Notes for the facilitator" not in html
        # Only facilitators may switch to the guide.
        assert "Record the votes" not in client.get(url + "?variant=facilitator").content.decode()


def test_preview_shows_either_variant_to_the_facilitator(workshop, facilitator):
    from workshops.selectors import latest_version

    request = RequestFactory().get("/")
    request.user = facilitator
    version = latest_version(workshop)
    guide = version.serve_preview(request, "facilitator")
    guide.render()
    html = guide.content.decode()
    assert "Facilitator guide" in html and "Record the votes in the outcomes" in html
    assert "minutes" in html and HOUSING[0] in html
    participant = version.serve_preview(request, "")
    participant.render()
    assert "Record the votes" not in participant.content.decode()


def test_a_steward_approves_a_pack_through_the_workflow(plain_workshop, facilitator, steward):
    workshop = plain_workshop
    workflow = workshop.get_workflow()
    assert workflow is not None
    state = workflow.start(workshop, facilitator)
    assert workshop.workflow_in_progress
    task_state = state.current_task_state
    task_state.task.specific.on_action(task_state, steward, "approve")
    workshop.refresh_from_db()
    assert workshop.live and workshop.live_revision_id == workshop.latest_revision_id
    assert not workshop.workflow_in_progress


def test_readers_see_the_approved_pack_and_builders_the_latest(
    client, login, workshop, facilitator, manager, steward
):
    detail = reverse("workshops:detail", args=[workshop.pk])
    login(manager)
    waiting = client.get(detail).content.decode()
    assert "has not been approved by a data steward yet" in waiting
    assert HOUSING[0] not in waiting
    export = client.get(reverse("workshops:export", args=[workshop.pk, "participant", "html"]))
    assert export.status_code == 302
    _publish(workshop, steward)
    assert HOUSING[0] in client.get(detail).content.decode()
    export = client.get(reverse("workshops:export", args=[workshop.pk, "participant", "html"]))
    assert export.status_code == 200 and HOUSING[0] in export.content.decode()
    assert export["Content-Security-Policy"].startswith("default-src 'none'")
    guide = client.get(reverse("workshops:export", args=[workshop.pk, "facilitator", "html"]))
    assert guide.status_code == 303  # the guide is for facilitators
    login(facilitator)
    guide = client.get(reverse("workshops:export", args=[workshop.pk, "facilitator", "html"]))
    assert guide.status_code == 200 and "Timings" in guide.content.decode()


def test_facilitators_create_workshops_and_reporters_do_not(client, login, project, reporter):
    add = reverse("wagtailadmin_pages:add", args=["workshops", "workshoppage", project.pk])
    login(reporter)
    refused = client.get(add, follow=True)
    assert refused.redirect_chain[-1][0] == reverse("workshops:index")
    assert "Only the project&#x27;s facilitators" in refused.content.decode()
    create = reverse("workshops:create", args=[project.pk])
    assert client.post(create, {"title": "Mine"}).status_code == 302
    assert not project.get_children().type(services.WorkshopPage).exists()


def test_a_facilitator_creates_a_workshop_with_a_draft_pack(
    client, login, project, facilitator, themes
):
    login(facilitator)
    index = client.get(reverse("workshops:index")).content.decode()
    assert "New workshop in Probation voices" in index
    created = client.post(
        reverse("workshops:create", args=[project.pk]),
        {"title": "", "audience": ["managers"], "draft": "on"},
    )
    assert "Please give the workshop a name." in created.content.decode()
    created = client.post(
        reverse("workshops:create", args=[project.pk]),
        {"title": "Spring workshop", "audience": ["managers"], "draft": "on"},
    )
    workshop = project.get_children().type(services.WorkshopPage).get().specific
    assert created["Location"] == reverse("wagtailadmin_pages:edit", args=[workshop.pk])
    edit = client.get(created["Location"])
    assert edit.status_code == 200
    assert "Pack and exports" in edit.content.decode()
    detail = client.get(reverse("workshops:detail", args=[workshop.pk])).content.decode()
    assert "housing, auto" in detail and "Facilitator guide" in detail


def test_the_editor_refuses_another_projects_material(
    client, login, plain_workshop, project, other_project, steward, stories
):
    workshop = plain_workshop
    elsewhere = factories.user_with_role("reporter", other_project, username="oona")
    story = analysed_story(other_project, elsewhere, steward, [HOUSING[0]], teller="Zed")
    foreign = Segment.objects.get(story=story, transcript__is_current=True)
    co_facilitator = factories.user_with_role("facilitator", project, username="flo")
    login(co_facilitator)
    edit = reverse("wagtailadmin_pages:edit", args=[workshop.pk])
    data = nested_form_data(
        {
            "title": workshop.title,
            "slug": workshop.slug,
            "body": streamfield([("quote", {"quote": foreign.pk, "notes": ""})]),
        }
    )
    response = client.post(edit, data)
    assert response.status_code == 200
    assert "A quote or clip in the pack comes from another project" in response.content.decode()
    ok = nested_form_data(
        {
            "title": "Renamed by a co-facilitator",
            "slug": workshop.slug,
            "body": streamfield(
                [
                    (
                        "quote",
                        {
                            "quote": Segment.objects.filter(story__title="Ann's story").first().pk,
                            "notes": "",
                        },
                    )
                ]
            ),
        }
    )
    assert client.post(edit, ok).status_code == 302
    workshop.refresh_from_db()
    assert workshop.draft_title == "Renamed by a co-facilitator"


@pytest.mark.parametrize("view", ["edit", "history", "delete"])
def test_admin_views_of_a_workshop_are_404_to_other_projects(
    client, login, plain_workshop, other_project, view
):
    workshop = plain_workshop
    login(factories.user_with_role("facilitator", other_project, username="olly"))
    assert client.get(reverse(f"wagtailadmin_pages:{view}", args=[workshop.pk])).status_code == 404
    assert client.get(reverse("workshops:detail", args=[workshop.pk])).status_code == 404
    assert client.get(reverse("workshops:draft", args=[workshop.pk])).status_code == 404


def test_a_printed_qr_code_leads_to_the_clip_for_logged_in_members_only(
    client, login, workshop, facilitator, manager, stories, other_project
):
    from stories.services import consent_withdraw
    from tests.workshops.conftest import add_blocks, clip_block, make_clip, redact

    clip = make_clip(stories["Bob"], text="The wages were fine.", title="Wages")
    unused = make_clip(stories["Ann"], text="Not in the pack.", title="Unused")
    add_blocks(workshop, facilitator, clip_block(clip))
    page = reverse("workshops:clip", args=[workshop.pk, clip.pk])
    media = reverse("workshops:clip_media", args=[workshop.pk, clip.pk])
    captions = reverse("workshops:clip_captions", args=[workshop.pk, clip.pk])

    assert client.get(page).status_code == 302  # to the login page
    login(facilitator)
    html = client.get(page).content.decode()
    assert (
        f'src="{media}"' in html and f'src="{captions}"' in html and "The wages were fine." in html
    )
    assert client.get(media).status_code == 200
    vtt = client.get(captions)
    assert vtt["Content-Type"].startswith("text/vtt") and b"The wages were fine." in vtt.content
    unused_page = client.get(reverse("workshops:clip", args=[workshop.pk, unused.pk]))
    assert unused_page.status_code == 404 and b"This clip is not available" in unused_page.content

    # A name redacted after the clip was made: its sound may hold it, so it is not played.
    redact(Segment.objects.get(story=stories["Bob"], index=0), "hostel")
    html = client.get(page).content.decode()
    assert "can only be read, not played" in html and f'src="{media}"' not in html
    assert client.get(media).status_code == 404
    # Bob no longer agrees to be quoted: the clip is gone from the pack altogether.
    consent_withdraw(story=stories["Bob"], user=stories["Bob"].reporter, keep={"record"})
    assert client.get(page).status_code == 404
    assert client.get(captions).status_code == 404

    login(manager)  # the pack is not approved yet: managers cannot follow the code either
    assert client.get(page).status_code == 404
    login(factories.user_with_role("facilitator", other_project, username="olly"))
    assert client.get(page).status_code == 404


def test_the_page_chooser_lists_a_workshop_only_to_its_project(
    client, login, plain_workshop, project, facilitator, other_project
):
    browse = reverse("wagtailadmin_choose_page_child", args=[project.pk])
    login(facilitator)
    assert "Staff workshop" in client.get(browse).content.decode()
    login(factories.steward(username="sam"))
    assert "Staff workshop" in client.get(browse).content.decode()
    login(factories.user_with_role("facilitator", other_project, username="olly"))
    assert "Staff workshop" not in client.get(browse).content.decode()


def test_the_pack_draws_who_is_heard_without_matplotlib_and_says_it_in_words(
    client, login, workshop, facilitator, monkeypatch
):
    import base64
    import re
    from html import unescape

    from themes import charts

    def no_matplotlib(*args, **kwargs):
        raise AssertionError("the pack page drew a chart with matplotlib")

    monkeypatch.setattr(charts, "_pyplot", no_matplotlib)
    login(facilitator)
    page = client.get(reverse("workshops:detail", args=[workshop.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    found = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="Chart: ([^"]+)"', html)
    assert found, "a theme's chart"
    data, alt = found[0]
    svg = base64.b64decode(data).decode()
    words = unescape(alt)
    assert "storyteller" in words and f'<desc id="d">{words}</desc>' in unescape(svg)
    assert "Who is heard in this theme" in svg and "Person using the service" in unescape(svg)
