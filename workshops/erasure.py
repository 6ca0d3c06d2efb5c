"""What workshops remove when a story is erased (stories.erasure), or when its storyteller
no longer agrees to be quoted: the story's quotes and clips leave proposals and "most
significant" choices, and every pack that used them is marked as made again. Packs hold
quotes by reference only, so once transcription's step deletes the segments they cannot
show them (the pack says a quote is no longer there). When the story's words may no longer
be analysed, theme names copied into packs (a drafted pack's "Talk about: ..." headings) lose
the words only that story said, in every saved version. Counts only."""

import json

from django.utils import timezone

from stories.models import StoryPage
from transcription.models import Clip, Segment
from workshops.models import Proposal, SignificantStory, WorkshopPage
from workshops.pack import material_ids

REMOVED = "[removed]"
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
    project = story.get_project()
    gone = {}
    if scope.lost("analyse", "transcribe", "record"):
        gone = {word: REMOVED for word in story_only_words(story_id=story.pk, project=project)}
    for workshop in WorkshopPage.objects.descendant_of(project):
        if gone and _scrub_pack(workshop, gone):
            removed["packs with words only this story gave"] = (
                removed.get("packs with words only this story gave", 0) + 1
            )
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


def story_only_words(*, story_id: int, project) -> set[str]:
    """The words of the story's transcript that no other story of the project says, as theme
    keywords count words (themes.erasure.words_of). A theme name made from the keywords and
    copied elsewhere (a drafted pack's "Talk about: ..." headings, an action's linked themes)
    can only have taken these from this story."""
    from themes.erasure import words_of

    words: set[str] = set()
    for text in Segment.objects.filter(story_id=story_id).values_list("text", flat=True):
        words |= words_of(text)
    others = (
        Segment.objects.filter(story__in=StoryPage.objects.descendant_of(project))
        .exclude(story_id=story_id)
        .values_list("text", flat=True)
    )
    for text in others.iterator(chunk_size=2000):
        if not words:
            break
        words -= words_of(text)
    return words


# The pack's plain-text fields (StreamField data, workshops.blocks): what a theme's name was
# copied into, and what people type. Block types, ids, choices and rich text's markup are
# never changed (a story's word may well be "prompt", "notes" or "strong").
PACK_TEXT_FIELDS = {
    "heading",
    "questions",
    "title",
    "description",
    "notes",
    "instructions",
    "materials",
}


def _scrub_blocks(value, change, *, text: bool = False):
    if isinstance(value, str):
        return change(value) if text else value
    if isinstance(value, list):
        return [_scrub_blocks(item, change, text=text) for item in value]
    if isinstance(value, dict):
        return {
            key: _scrub_blocks(item, change, text=text or key in PACK_TEXT_FIELDS)
            for key, item in value.items()
        }
    return value


def _scrub_body(body, change):
    """A pack's body as a revision stores it (JSON text) or as the page holds it (a list)."""
    if not isinstance(body, str):
        return _scrub_blocks(body, change)
    try:
        data = json.loads(body)
    except ValueError:
        return body
    scrubbed = _scrub_blocks(data, change)
    return body if scrubbed == data else json.dumps(scrubbed)


def _scrub_pack(workshop: WorkshopPage, gone: dict[str, str]) -> bool:
    """The pack, in every saved version and as it stands, without the words only the erased
    story gave (theme names copied into headings, words typed from its quotes)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Page, Revision

    from transcription.redaction import scrub

    def change(text: str) -> str:
        return scrub(text, gone)

    changed = False
    revisions = Revision.objects.filter(
        base_content_type=ContentType.objects.get_for_model(Page), object_id=str(workshop.pk)
    )
    for revision in revisions:
        content = revision.content
        if isinstance(content, dict) and "body" in content:
            body = _scrub_body(content["body"], change)
            if body != content["body"]:
                Revision.objects.filter(pk=revision.pk).update(content={**content, "body": body})
                changed = True
    raw = list(workshop.body.raw_data)
    body = _scrub_body(raw, change)
    if body != raw:
        field = WorkshopPage._meta.get_field("body")
        WorkshopPage.objects.filter(pk=workshop.pk).update(body=field.to_python(body))
        changed = True
    return changed
