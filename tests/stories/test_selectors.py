"""Who sees which stories, recordings, consent evidence and storytellers."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.http import Http404

from stories import selectors, services
from stories.models import CONSENT_SCOPES
from tests import factories

PDF = b"%PDF-1.4\n% consent form\n" + b"0" * 200


@pytest.fixture
def world(project, other_project, reporter, other_reporter, facilitator, manager, steward):
    """Reporter A's draft and approved stories, reporter B's story in the same project, and a
    story in another project, each with evidence of consent."""
    elsewhere = factories.user_with_role("reporter", other_project, username="bea")
    draft = factories.story(project, reporter, title="Draft by A", text="My first week.")
    approved = factories.story(project, reporter, title="Approved by A", text="The hostel.")
    services.story_approve(story=approved, user=steward)
    by_other = factories.story(
        project, other_reporter, title="By B", text="Curfew.", storyteller_name="Jo"
    )
    remote = factories.story(
        other_project, elsewhere, title="Elsewhere", text="Job club.", storyteller_name="Al"
    )
    services.story_approve(story=remote, user=steward)
    evidence = {}
    for story, author in [(draft, reporter), (by_other, other_reporter), (remote, elsewhere)]:
        evidence[story.pk] = services.consent_record(
            story=story,
            user=author,
            consent=services.ConsentInput(
                scopes=set(CONSENT_SCOPES), evidence=ContentFile(PDF, name="form.pdf")
            ),
        )
    inactive = factories.user_with_role("reporter", project, username="ivy")
    draft_by_inactive = factories.story(
        project, inactive, title="By inactive", text="Old.", storyteller_name="Ed"
    )
    inactive.is_active = False
    inactive.save()
    return {
        "draft": draft,
        "approved": approved,
        "by_other": by_other,
        "remote": remote,
        "elsewhere": elsewhere,
        "inactive": inactive,
        "draft_by_inactive": draft_by_inactive,
        "evidence": evidence,
    }


def titles(queryset):
    return sorted(page.title for page in queryset)


def test_anonymous_and_inactive_users_see_nothing(world):
    for user in (AnonymousUser(), world["inactive"]):
        assert not selectors.stories_visible_to(user=user).exists()
        assert not selectors.recordings_visible_to(user=user).exists()
        with pytest.raises(Http404):
            selectors.story_get_for_user(user=user, story_id=world["draft_by_inactive"].pk)
        with pytest.raises(Http404):
            selectors.consent_evidence_get_for_user(
                user=user, consent_id=world["evidence"][world["draft"].pk].pk
            )


def test_a_reporter_sees_only_their_own_stories(world, reporter, project):
    assert titles(selectors.stories_visible_to(user=reporter)) == ["Approved by A", "Draft by A"]
    assert titles(selectors.stories_visible_to(user=reporter, project=project)) == [
        "Approved by A",
        "Draft by A",
    ]
    with pytest.raises(Http404):
        selectors.story_get_for_user(user=reporter, story_id=world["by_other"].pk)


def test_a_reporter_of_another_project_sees_none_of_this_one(world, project):
    elsewhere = world["elsewhere"]
    assert titles(selectors.stories_visible_to(user=elsewhere)) == ["Elsewhere"]
    assert not selectors.stories_visible_to(user=elsewhere, project=project).exists()
    for story in ("draft", "approved", "by_other"):
        with pytest.raises(Http404):
            selectors.story_get_for_user(user=elsewhere, story_id=world[story].pk)


def test_a_facilitator_sees_approved_stories_of_their_projects_only(world, facilitator):
    assert titles(selectors.stories_visible_to(user=facilitator)) == ["Approved by A"]
    with pytest.raises(Http404):
        selectors.story_get_for_user(user=facilitator, story_id=world["draft"].pk)
    with pytest.raises(Http404):  # approved, but in a project they do not work in
        selectors.story_get_for_user(user=facilitator, story_id=world["remote"].pk)


def test_a_manager_sees_no_stories(world, manager):
    assert not selectors.stories_visible_to(user=manager).exists()
    assert not selectors.recordings_visible_to(user=manager).exists()


def test_a_steward_sees_everything(world, steward, other_project):
    assert titles(selectors.stories_visible_to(user=steward)) == [
        "Approved by A",
        "By B",
        "By inactive",
        "Draft by A",
        "Elsewhere",
    ]
    assert titles(selectors.stories_visible_to(user=steward, project=other_project)) == [
        "Elsewhere"
    ]
    for consent in world["evidence"].values():
        assert selectors.consent_evidence_get_for_user(user=steward, consent_id=consent.pk)


def test_recordings_only_for_the_reporter_and_stewards(
    project, other_project, reporter, other_reporter, facilitator, steward
):
    own = factories.story(project, reporter, title="Spoken")
    services.story_approve(story=own, user=steward)
    theirs = factories.story(project, other_reporter, title="Theirs", storyteller_name="Jo")
    elsewhere = factories.user_with_role("reporter", other_project, username="bea")
    media, other_media = own.media.get(), theirs.media.get()

    assert list(selectors.recordings_visible_to(user=reporter)) == [media]
    assert list(selectors.recordings_visible_to(user=other_reporter)) == [other_media]
    assert set(selectors.recordings_visible_to(user=steward)) == {media, other_media}
    # The facilitator may read the approved story, never hear the unredacted original.
    assert not selectors.recordings_visible_to(user=facilitator).exists()
    assert not selectors.recordings_visible_to(user=elsewhere).exists()
    with pytest.raises(Http404):
        selectors.story_media_get_for_user(user=reporter, media_id=other_media.pk)
    with pytest.raises(Http404):
        selectors.story_media_get_for_user(user=facilitator, media_id=media.pk)
    assert selectors.story_media_get_for_user(user=steward, media_id=other_media.pk) == other_media


def test_consent_evidence_for_the_stories_reporter_and_stewards_only(
    world, reporter, other_reporter, facilitator, manager
):
    own = world["evidence"][world["draft"].pk]
    theirs = world["evidence"][world["by_other"].pk]
    assert selectors.consent_evidence_get_for_user(user=reporter, consent_id=own.pk) == own
    assert (
        selectors.consent_evidence_get_for_user(user=other_reporter, consent_id=theirs.pk) == theirs
    )
    for user, consent in [
        (reporter, theirs),
        (other_reporter, own),
        (facilitator, own),
        (manager, own),
        (world["elsewhere"], own),
    ]:
        with pytest.raises(Http404):
            selectors.consent_evidence_get_for_user(user=user, consent_id=consent.pk)
    with pytest.raises(Http404):
        selectors.consent_evidence_get_for_user(user=reporter, consent_id="not a number")


def test_consent_history_follows_the_story(world, reporter, facilitator, steward):
    history = selectors.consent_history_for_user(user=reporter, story=world["draft"])
    assert [c.version for c in history] == [2, 1]
    with pytest.raises(Http404):
        selectors.consent_history_for_user(user=facilitator, story=world["draft"])
    assert selectors.consents_visible_to(user=steward).count() == 8
    assert {c.story_id for c in selectors.consents_visible_to(user=reporter)} == {
        world["draft"].pk,
        world["approved"].pk,
    }
    assert not selectors.consents_visible_to(user=facilitator).exists()


def test_storytellers_a_reporter_has_recorded(world, project, other_project, reporter, steward):
    assert [
        s.pseudonym for s in selectors.storytellers_for_reporter(user=reporter, project=project)
    ] == ["Sam"]
    everyone = selectors.storytellers_for_reporter(user=steward, project=project)
    assert sorted(s.pseudonym for s in everyone) == ["Ed", "Jo", "Sam"]
    # Not a reporter in the other project: nobody there.
    assert not selectors.storytellers_for_reporter(user=reporter, project=other_project).exists()
    assert not selectors.storytellers_for_reporter(user=world["inactive"], project=project).exists()
    assert not selectors.storytellers_for_reporter(user=AnonymousUser(), project=project).exists()
    assert sorted(s.pseudonym for s in selectors.storytellers_visible_to(user=steward)) == [
        "Al",
        "Ed",
        "Jo",
        "Sam",
    ]
    assert [s.pseudonym for s in selectors.storytellers_visible_to(user=reporter)] == ["Sam"]
