"""The "Sensitive access" report: who opened an original recording or evidence, and when."""

from django.urls import reverse

from stories.models import StoryMedia
from tests import factories


def test_stewards_see_who_opened_a_recording_and_nothing_else(client, project, reporter, steward):
    story = factories.story(project, reporter, title="Bus pass", submit=True)
    recording = StoryMedia.objects.get(story=story, role=StoryMedia.Role.RECORDING)
    client.force_login(reporter)
    assert client.get(reverse("stories:recording", args=[recording.pk])).status_code == 200

    client.force_login(steward)
    report = client.get(reverse("storyloom_sensitive_access")).content.decode()
    assert "Recording opened" in report and reporter.username in report

    export = client.get(reverse("storyloom_sensitive_access") + "?export=csv")
    assert export.status_code == 200
    rows = b"".join(export.streaming_content).decode().splitlines()
    # One row: the opening. The story's creation and submission are not listed.
    assert len(rows) == 2 and "Recording opened" in rows[1] and reporter.username in rows[1]


def test_only_stewards_can_read_the_report(client, reporter, facilitator, manager):
    for user in (reporter, facilitator, manager):
        client.force_login(user)
        assert client.get(reverse("storyloom_sensitive_access")).status_code == 404
