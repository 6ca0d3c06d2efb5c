import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from wagtail.models import WorkflowState

from stories import services
from stories.models import Consent, MediaState, StoryKind, StoryMedia, StoryPage, private_storage
from tests import factories


def stored_files():
    storage = private_storage()
    found = []

    def walk(path):
        dirs, files = storage.listdir(path)
        found.extend(f"{path}/{name}".lstrip("/") for name in files)
        for d in dirs:
            walk(f"{path}/{d}".lstrip("/"))

    if storage.exists(""):
        walk("")
    return found


def test_story_create_keeps_the_recording_privately_under_a_generated_name(
    project, reporter, private_media
):
    story = factories.story(project, reporter, audio="formats/jfk.m4a")

    media = story.media.get()
    assert (private_media / media.file.name).is_file()
    assert stored_files() == [media.file.name]
    assert media.original_name == "formats/jfk.m4a"
    assert "jfk" not in media.file.name and media.file.name.endswith(".m4a")
    assert media.content_type == "audio/mp4"
    assert 10.5 < media.duration_seconds < 11.5
    assert story.kind == StoryKind.AUDIO and not story.live
    assert story.owner == reporter and story.reporter == reporter


def test_a_video_recording_makes_a_video_story(project, reporter):
    story = factories.story(project, reporter, audio="formats/jfk_video.mp4")
    assert story.kind == StoryKind.VIDEO
    assert story.media.get().content_type == "video/mp4"


def test_submitting_sends_the_story_to_the_stewards_and_marks_its_media_waiting(
    project, reporter, django_capture_on_commit_callbacks
):
    story = factories.story(project, reporter)
    received = []
    from stories.signals import story_media_added

    def listener(**kwargs):
        received.append(kwargs)

    story_media_added.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.story_submit(story=story, user=reporter)
    finally:
        story_media_added.disconnect(listener)

    state = WorkflowState.objects.get(base_content_type__model="page", object_id=str(story.pk))
    assert state.status == "in_progress"
    assert state.current_task_state.task.name == "Data steward approves for analysis"
    assert StoryPage.objects.get(pk=story.pk).media_state == MediaState.WAITING
    assert received and received[0]["story_id"] == story.pk


def test_no_story_without_consent_to_record(project, reporter):
    with pytest.raises(ValidationError, match="agree to the recording"):
        factories.story(project, reporter, scopes={"transcribe", "analyse"})
    assert not StoryPage.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50, "not a sound or video"),
        (b"", "empty"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not a wave file at all" * 3, "could not"),
    ],
)
def test_bad_recordings_are_refused_and_nothing_is_stored(project, reporter, content, message):
    teller = factories.storyteller(project, reporter)
    with pytest.raises(ValidationError, match=message):
        services.story_create(
            project=project,
            reporter=reporter,
            story=services.StoryInput(title="Bad", storyteller=teller),
            consent=services.ConsentInput(scopes={"record"}),
            recording=ContentFile(content, name="story.mp3"),
        )
    assert not StoryPage.objects.exists() and not StoryMedia.objects.exists()
    assert stored_files() == []


def test_a_video_without_sound_is_refused_plainly(project, reporter):
    with pytest.raises(ValidationError, match="no sound"):
        factories.story(project, reporter, audio="formats/noaudio_video.mp4")


def test_a_reporter_cannot_post_to_another_project(project, other_project, reporter):
    teller = factories.storyteller(project, reporter)
    with pytest.raises(PermissionDenied):
        services.story_create(
            project=other_project,
            reporter=reporter,
            story=services.StoryInput(title="Elsewhere", storyteller=teller),
            consent=services.ConsentInput(scopes={"record"}),
            text="Some words",
        )
    assert not StoryPage.objects.exists()


def test_consent_is_versioned_and_never_edited(project, reporter):
    story = factories.story(project, reporter, text="It was a long wait.")
    first = story.current_consent
    assert first.version == 1 and first.scopes == set(services.CONSENT_SCOPES)

    services.consent_withdraw(story=story, user=reporter, keep={"record", "transcribe"})
    latest = StoryPage.objects.get(pk=story.pk).current_consent
    assert latest.version == 2 and latest.is_withdrawal
    assert latest.scopes == {"record", "transcribe"}
    assert Consent.objects.get(pk=first.pk).publish is True  # history kept

    first.publish = False
    with pytest.raises(ValueError, match="cannot be changed"):
        first.save()


def test_only_the_storys_reporter_or_a_steward_changes_consent(
    project, reporter, other_reporter, steward
):
    story = factories.story(project, reporter, text="words")
    with pytest.raises(PermissionDenied):
        services.consent_withdraw(story=story, user=other_reporter)
    services.consent_withdraw(story=story, user=steward)
    assert StoryPage.objects.get(pk=story.pk).current_consent.scopes == set()
