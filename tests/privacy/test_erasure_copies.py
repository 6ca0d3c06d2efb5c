"""What the canary found, tested quickly (the canary itself is slow): copies of a withdrawn
story's words outside the story (theme names copied into packs and actions, its tags, the
search index's own storage) go with it."""

import json

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from taggit.models import Tag
from wagtail.models import Page, Revision
from wagtail.search import index

from actions import services as actions
from actions.models import Action
from stories import erasure
from stories.models import ErasureRequest
from stories.services import consent_withdraw
from tests import factories
from tests.privacy.canary import scan_database
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services as themes
from themes.models import Theme
from workshops import services as workshops
from workshops.models import WorkshopPage


def _pack_text(workshop) -> str:
    """Every saved version of the workshop's pack."""
    page_type = ContentType.objects.get_for_model(Page)
    revisions = Revision.objects.filter(base_content_type=page_type, object_id=str(workshop.pk))
    return json.dumps([revision.content for revision in revisions])


def _latest(workshop):
    return WorkshopPage.objects.get(pk=workshop.pk).get_latest_revision_as_object()


def _withdraw(story, user):
    consent_withdraw(story=story, user=user, keep=set())
    return erasure.erasure_run(request_id=ErasureRequest.objects.get(story_id=story.pk).pk)


def test_theme_names_copied_into_packs_and_actions_lose_the_words_only_the_story_said(
    project, reporter, steward, facilitator, manager
):
    analysed_story(project, reporter, steward, HOUSING, teller="Ann")
    analysed_story(project, reporter, steward, WORK, teller="Bob", role="staff")
    # Cat alone says "drink", and words that are also the pack's block and field names.
    said = [*DRINK, "A prompt in my notes: the minutes, the heading, the quote, the text."]
    cat = analysed_story(project, reporter, steward, said, teller="Cat")
    run = themes.theme_run_start(project=project, user=facilitator, enqueue=False)
    themes.theme_run_execute(run_id=run.pk, engine=FakeEngine())
    drink = Theme.objects.get(project=project, auto_label="drink, auto")  # only Cat says it
    workshop = workshops.workshop_create(
        project=project, user=facilitator, title="Managers' workshop", draft=True
    )
    action = actions.action_create(project=project, user=manager, title="Ask", themes=[drink])
    assert "Talk about: drink, auto" in _pack_text(workshop)
    blocks = [block.block_type for block in _latest(workshop).body]
    assert action.theme_refs[0]["label"] == "drink, auto"

    done = _withdraw(cat, reporter)

    assert done.ledger["actions"]["removed"] == {"theme names in actions": 1}
    assert done.ledger["workshops"]["removed"]["packs with words only this story gave"] == 1
    action = Action.objects.get(pk=action.pk)
    assert action.theme_refs[0]["label"] == "auto"  # "A theme" where nothing is left
    for revision in Revision.objects.filter(object_id__in=[str(action.pk), str(workshop.pk)]):
        text = json.dumps(revision.content)
        assert "drink" not in text and "alcohol" not in text
    assert "Talk about: [removed], auto" in _pack_text(workshop)
    assert "Talk about: housing, auto" in _pack_text(workshop)  # others' words stay
    assert [block.block_type for block in _latest(workshop).body] == blocks  # intact


def test_a_tag_only_the_erased_story_had_goes_and_shared_tags_stay(project, reporter, steward):
    factories.story(project, reporter, title="Other", text="Some words.", tags=["housing"])
    story = factories.story(project, reporter, text="Mine.", tags=["housing", "kestrelwick"])

    _withdraw(story, reporter)

    assert set(Tag.objects.values_list("name", flat=True)) == {"housing"}


def test_the_search_index_keeps_none_of_the_story_s_words(project, reporter):
    story = factories.story(
        project, reporter, title="Kestrelwick waiting room", text="Words.", summary="zorblat"
    )
    index.insert_or_update_object(story)
    needles = {"title": "kestrelwick", "summary": "zorblat"}
    before = scan_database(needles)
    assert any(place.startswith("wagtailsearch_indexentry") for place in before["summary"])

    _withdraw(story, reporter)

    assert scan_database(needles) == {"title": [], "summary": []}
    page_type = ContentType.objects.get_for_model(Page)
    assert not Revision.objects.filter(base_content_type=page_type, object_id=str(story.pk))
    if connection.vendor == "sqlite":  # the full-text index's own b-tree included
        assert "wagtailsearch_indexentry_fts_data" in connection.introspection.table_names()
