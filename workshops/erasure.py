"""What workshops remove when a story is erased (stories.erasure), or when its storyteller
no longer agrees to be quoted: the story's quotes and clips leave proposals and "most
significant" choices, and every pack that used them is marked as made again. Packs hold
quotes by reference only, so once transcription's step deletes the segments they cannot
show them (the pack says a quote is no longer there). Counts only."""

from django.utils import timezone

from stories.models import StoryPage
from transcription.models import Clip, Segment
from workshops.models import Proposal, SignificantStory, WorkshopPage
from workshops.pack import material_ids

NOTE = (
    "Made again on {when:%d %B %Y at %H:%M} without the words of a storyteller who no "
    "longer agrees to them being used."
)


def workshops_erasure_step(scope) -> dict[str, int]:
    if not scope.lost("quote", "voice", "analyse", "transcribe", "record"):
        return {}
    segments = set(Segment.objects.filter(story_id=scope.story_id).values_list("pk", flat=True))
    clips = set(Clip.objects.filter(story_id=scope.story_id).values_list("pk", flat=True))
    removed = {"packs marked as made again": 0}
    if scope.lost("quote", "analyse", "transcribe", "record"):
        for proposal in Proposal.objects.filter(quotes__in=segments).distinct():
            proposal.quotes.remove(*segments)
        for proposal in Proposal.objects.filter(clips__in=clips).distinct():
            proposal.clips.remove(*clips)
    if scope.full:
        removed["most significant story choices"] = SignificantStory.objects.filter(
            story_id=scope.story_id
        ).delete()[0]
    story = StoryPage.objects.filter(pk=scope.story_id).first()
    if story is None:
        return removed
    now = timezone.now()
    for workshop in WorkshopPage.objects.descendant_of(story.get_project()):
        versions = [workshop]
        if workshop.has_unpublished_changes:
            versions.append(workshop.get_latest_revision_as_object())
        used = False
        for version in versions:
            ids = material_ids(version)
            if ids["segments"] & segments or ids["clips"] & clips:
                used = True
                break
        if used:
            WorkshopPage.objects.filter(pk=workshop.pk).update(
                regenerated_at=now, regenerated_note=NOTE.format(when=timezone.localtime(now))
            )
            removed["packs marked as made again"] += 1
    return removed
