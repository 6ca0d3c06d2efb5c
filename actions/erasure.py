"""What actions remove when a story is erased (stories.erasure), or when "analyse" (or
"transcribe", "record") is no longer agreed: an action keeps the names of its linked themes
as they were when linked (theme_refs, in the action and in each of its revisions), and an
automatic theme name is made of keywords, so it can hold words that only the story said.
Those parts of the names go. Runs first, while the story's transcript is still there to say
which words were its own. Counts only."""

from django.contrib.contenttypes.models import ContentType
from wagtail.models import Revision

from actions.models import Action
from stories.models import StoryPage
from themes.erasure import words_of
from workshops.erasure import story_only_words


def _without(label: str, gone: set[str]) -> str:
    """The name without the parts (between commas, as automatic names are made) that hold a
    gone word; an empty name reads "A theme" (actions.selectors.theme_resolve)."""
    parts = [part.strip() for part in label.split(",")]
    return ", ".join(part for part in parts if part and not words_of(part) & gone)


def _refs_without(refs, gone: set[str]):
    if not isinstance(refs, list):
        return refs
    return [
        {**ref, "label": _without(str(ref.get("label", "")), gone)}
        if isinstance(ref, dict)
        else ref
        for ref in refs
    ]


def actions_erasure_step(scope) -> dict[str, int]:
    if not scope.lost("analyse", "transcribe", "record"):
        return {}
    story = StoryPage.objects.filter(pk=scope.story_id).first()
    if story is None:
        return {}
    project = story.get_project()
    gone = story_only_words(story_id=story.pk, project=project)
    if not gone:
        return {}
    changed = 0
    actions = list(Action.objects.filter(project=project).only("pk", "theme_refs"))
    for action in actions:
        refs = _refs_without(action.theme_refs, gone)
        if refs != action.theme_refs:
            Action.objects.filter(pk=action.pk).update(theme_refs=refs)
            changed += 1
    revisions = Revision.objects.filter(
        base_content_type=ContentType.objects.get_for_model(Action),
        object_id__in=[str(action.pk) for action in actions],
    )
    for revision in revisions:
        content = revision.content
        if isinstance(content, dict) and "theme_refs" in content:
            refs = _refs_without(content["theme_refs"], gone)
            if refs != content["theme_refs"]:
                Revision.objects.filter(pk=revision.pk).update(
                    content={**content, "theme_refs": refs}
                )
    return {"theme names in actions": changed}
