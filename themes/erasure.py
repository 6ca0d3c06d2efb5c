"""What themes removes when a story is erased (stories.erasure), or when "analyse" (or
"record", "transcribe") is no longer agreed.

- the story's theme assignments, and its segments from every theme's model_segment_ids
  and from people's recorded moves, pins and splits;
- everything fitted on material that included the story: the runs' fitted states (the
  engine's centroids and, with the TF-IDF embedding, its vocabulary), the themes'
  centroids and map positions (a projection fitted on every passage);
- the words that only the story gave: keywords that no remaining segment of the theme
  says, automatic labels rebuilt from the keywords that remain, and the same words in the
  runs' reports, errors and parameters and in the themes' audit log entries (which also
  lose the story's and its segments' ids).

Then the themes are found again without the story (one queued run, only if the project
still has something to analyse). Names that people gave themes are theirs and stay.

Runs after workshops (which quote themes) and before transcription (which deletes the
segments: their words are needed here to know which keywords came from the story).
Idempotent: a second call finds nothing left to remove, and queues nothing. Counts only."""

import re

from django.db import transaction

from cms.models import ProjectPage
from stories.models import StoryPage
from themes import selectors
from themes.models import CurationAction, CurationEvent, Theme, ThemeAssignment, ThemeRun
from transcription.models import Segment
from transcription.redaction import scrub

# Words as the engine's keyword vectorizer counts them (themes.engines: lower case, two
# letters or more, no digits).
_TOKEN = re.compile(r"(?u)\b[^\W\d_][^\W\d_]+\b")
REMOVED = "[removed]"


def words_of(text: str) -> set[str]:
    return set(_TOKEN.findall((text or "").lower()))


def _project_of(story_id: int) -> ProjectPage | None:
    story = StoryPage.objects.filter(pk=story_id).first()
    if story is not None:
        return story.get_project()
    # The story is already gone (its own step ran earlier, in some older erasure): the
    # runs still name it if anything of it is left.
    for run in ThemeRun.objects.only("pk", "project_id", "story_ids").iterator():
        if story_id in (run.story_ids or []):
            return ProjectPage.objects.filter(pk=run.project_id).first()
    return None


def _rebuilt_label(label: str, keywords: list[str], gone: set[str], key: int) -> str:
    """The automatic label without the parts that hold a gone word, filled up again (to
    three parts, as the engine makes them) from the keywords that remain."""
    parts = [p.strip() for p in label.split(",") if p.strip()]
    kept = [p for p in parts if not words_of(p) & gone]
    if len(kept) == len(parts):
        return label
    for word in keywords:
        if len(kept) >= 3:
            break
        if word not in kept:
            kept.append(word)
    return ", ".join(kept)[:200] or f"Theme {key + 1}"


def _scrubbed(value, gone_words: dict[str, str]):
    from themes.services import _map_strings

    return _map_strings(value, lambda text: scrub(text, gone_words))


def themes_erasure_step(scope) -> dict[str, int]:
    if not scope.lost(*selectors.ANALYSIS_SCOPES):
        return {}
    from themes import services

    story_id = scope.story_id
    project = _project_of(story_id)
    if project is None:
        return {}
    removed: dict[str, int] = {}
    with transaction.atomic():
        # The same lock as a run storing its themes, a split, and a new story being placed:
        # whichever comes second sees what the first did.
        ProjectPage.objects.select_for_update().filter(pk=project.pk).exists()

        story_segments = list(
            Segment.objects.filter(story_id=story_id).prefetch_related("redactions")
        )
        segment_ids = {s.pk for s in story_segments} | set(
            ThemeAssignment.objects.filter(story_id=story_id).values_list("segment_id", flat=True)
        )
        story_words: set[str] = set()
        for segment in story_segments:
            story_words |= words_of(segment.text) | words_of(selectors.analysis_text(segment))

        touched = set(
            ThemeAssignment.objects.filter(story_id=story_id).values_list("theme_id", flat=True)
        )
        removed["theme assignments"] = ThemeAssignment.objects.filter(story_id=story_id).delete()[0]

        themes = {t.pk: t for t in Theme.objects.filter(project=project)}
        for theme in themes.values():
            kept = [i for i in theme.model_segment_ids if i not in segment_ids]
            if len(kept) != len(theme.model_segment_ids):
                theme.model_segment_ids = kept
                touched.add(theme.pk)

        # Everything fitted on passages that included the story goes.
        with_state = set(
            ThemeRun.objects.filter(project=project, fitted_state__isnull=False).values_list(
                "pk", flat=True
            )
        )
        saw = []
        for run in ThemeRun.objects.filter(project=project).only("pk", "story_ids", "story_count"):
            named = story_id in (run.story_ids or [])
            unknown = not run.story_ids and (run.pk in with_state or run.story_count)
            if named or unknown:
                saw.append(run)
        removed["fitted theme models"] = sum(1 for run in saw if run.pk in with_state)
        for run in saw:
            ThemeRun.objects.filter(pk=run.pk).update(
                fitted_state=None, story_ids=[i for i in run.story_ids if i != story_id]
            )
        saw_ids = {run.pk for run in saw}
        vectors = 0
        for theme in themes.values():
            if theme.run_id in saw_ids and (theme.centroid or theme.map_x is not None):
                theme.centroid, theme.map_x, theme.map_y = [], None, None
                touched.add(theme.pk)
                vectors += 1
        removed["theme vectors"] = vectors

        # Each touched theme keeps the keywords its remaining segments still say; other
        # themes lose the words that no other story of the project says. (A word that the
        # remaining segments say only inside a hidden span goes with the redactions, below.)
        remaining_ids: dict[int, set[int]] = {
            pk: set(themes[pk].model_segment_ids) for pk in touched
        }
        for theme_id, segment_id in ThemeAssignment.objects.filter(
            theme_id__in=touched
        ).values_list("theme_id", "segment_id"):
            remaining_ids[theme_id].add(segment_id)
        needed = set().union(*remaining_ids.values())
        only_story = set(story_words)
        texts: dict[int, set[str]] = {}
        others = (
            Segment.objects.filter(story__in=StoryPage.objects.descendant_of(project))
            .exclude(story_id=story_id)
            .values_list("pk", "text")
        )
        for segment_id, text in others.iterator(chunk_size=2000):
            said = words_of(text) & story_words
            only_story -= said
            if segment_id in needed:
                texts[segment_id] = said
        keywords_removed = 0
        for theme in themes.values():
            gone = set(only_story)
            if theme.pk in touched:
                said = set().union(*(texts.get(i, set()) for i in remaining_ids[theme.pk]))
                gone |= story_words - said
            keywords = [k for k in theme.keywords if not words_of(str(k)) & gone]
            label = _rebuilt_label(theme.auto_label, keywords, gone, theme.key)
            if keywords != theme.keywords or label != theme.auto_label:
                keywords_removed += len(theme.keywords) - len(keywords)
                theme.keywords, theme.auto_label = keywords, label
                touched.add(theme.pk)
        removed["theme keywords"] = keywords_removed
        for theme in themes.values():
            if theme.pk in touched:
                Theme.objects.filter(pk=theme.pk).update(
                    model_segment_ids=theme.model_segment_ids,
                    centroid=theme.centroid,
                    map_x=theme.map_x,
                    map_y=theme.map_y,
                    keywords=theme.keywords,
                    auto_label=theme.auto_label,
                    **selectors.theme_stats(theme=theme),
                )
        removed["themes adjusted"] = len(touched)

        gone_words = {word: REMOVED for word in only_story}
        for run in ThemeRun.objects.filter(project=project).only(
            "pk", "report", "quality", "parameters", "message", "error"
        ):
            fields = {
                name: _scrubbed(getattr(run, name), gone_words)
                for name in ("report", "quality", "parameters", "message", "error")
            }
            if any(fields[name] != getattr(run, name) for name in fields):
                ThemeRun.objects.filter(pk=run.pk).update(**fields)

        removed["people's decisions about its quotes"] = _forget_decisions(project, segment_ids)
        _scrub_log_entries(project, story_id, segment_ids, gone_words)
        services.themes_hide_redacted_words(project=project)

        changed = any(removed.values())
        removed["theme runs queued"] = 0
        if changed:
            removed["theme runs queued"] = _find_themes_again(project, story_id, services)
    return removed


def _forget_decisions(project: ProjectPage, segment_ids: set[int]) -> int:
    """People's moves and pins of the story's quotes go; splits forget its segments."""
    forgotten = 0
    for event in CurationEvent.objects.filter(project=project):
        payload = event.payload or {}
        if event.action in (CurationAction.MOVE, CurationAction.PIN):
            if payload.get("segment") in segment_ids:
                event.delete()
                forgotten += 1
        elif event.action == CurationAction.SPLIT:
            parts = [
                {**part, "segments": [i for i in part.get("segments", []) if i not in segment_ids]}
                for part in payload.get("parts", [])
            ]
            if parts != payload.get("parts", []):
                CurationEvent.objects.filter(pk=event.pk).update(
                    payload={**payload, "parts": parts}
                )
                forgotten += 1
    return forgotten


def _scrub_log_entries(project, story_id: int, segment_ids: set[int], gone_words) -> None:
    from wagtail.models import ModelLogEntry

    from themes.services import theme_log_entries

    for entry in theme_log_entries(project=project):
        data = dict(entry.data) if isinstance(entry.data, dict) else {}
        if data.get("story") == story_id:
            data = {k: v for k, v in data.items() if k != "story"}
        if data.get("segment") in segment_ids:
            data = {k: v for k, v in data.items() if k != "segment"}
        if isinstance(data.get("parts"), list):
            data["parts"] = [
                {**p, "segments": [i for i in p.get("segments", []) if i not in segment_ids]}
                if isinstance(p, dict)
                else p
                for p in data["parts"]
            ]
        data = _scrubbed(data, gone_words) if isinstance(entry.data, dict) else entry.data
        label = scrub(entry.label, gone_words)
        if data != entry.data or label != entry.label:
            ModelLogEntry.objects.filter(pk=entry.pk).update(label=label[:255], data=data)


def _find_themes_again(project: ProjectPage, story_id: int, services) -> int:
    """Queue one run without the story, if there is still something to analyse. One
    already waiting (or running: it checks before storing that its stories may still be
    analysed) is enough."""
    if not selectors.analysis_segments(project=project).exclude(story_id=story_id).exists():
        return 0
    before = set(ThemeRun.objects.filter(project=project).values_list("pk", flat=True))
    run = services.theme_run_start(project=project, user=None)
    return 0 if run.pk in before else 1
