"""Publishing a story's revision (approval) keeps what services have set since: the
transcription state, and a withdrawal."""

from wagtail.models import Revision

from stories import services
from stories.models import MediaState, StoryPage
from tests import factories


def test_approval_does_not_bring_back_an_old_transcription_state(project, reporter, steward):
    story = factories.story(project, reporter, submit=True)
    StoryPage.objects.filter(pk=story.pk).update(
        media_state=MediaState.READY, media_message="Transcribed."
    )

    services.story_approve(story=StoryPage.objects.get(pk=story.pk), user=steward)

    story = StoryPage.objects.get(pk=story.pk)
    assert story.live and story.media_state == MediaState.READY
    assert story.media_message == "Transcribed."


def test_publishing_an_old_revision_does_not_undo_a_withdrawal(project, reporter, steward):
    story = factories.story(project, reporter, submit=True)
    revision_id = story.latest_revision_id
    StoryPage.objects.filter(pk=story.pk).update(withdrawn=True)

    Revision.objects.get(pk=revision_id).publish(user=steward)

    assert StoryPage.objects.get(pk=story.pk).withdrawn
