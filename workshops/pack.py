"""Turning a pack (a WorkshopPage's body) into what people read: every theme resolved to the
project's current theme, every quote and clip checked against consent *now*, words read
redacted. The web page, the admin preview and the print/PDF export all read a pack through
`resolve_pack`, so they cannot disagree about what may be shown. Nothing here writes."""

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from cms.models import ProjectPage
from stories.models import Consent, StorytellerRole
from themes.models import Theme, ThemeAssignment
from transcription.models import Clip, Segment
from transcription.redaction import redacted_text
from workshops import selectors
from workshops.blocks import ACTIVITIES

PARTICIPANT = "participant"
FACILITATOR = "facilitator"
VARIANTS = {PARTICIPANT: "Participant pack", FACILITATOR: "Facilitator guide"}

ROLE_LABELS = dict(StorytellerRole.choices)
MIN_QUOTE_WORDS = 4


@dataclass
class Quote:
    segment_id: int
    story_id: int
    text: str
    role: str
    storyteller_id: int | None = None
    role_key: str = ""


@dataclass
class LeftOut:
    what: str  # "quote", "clip" or "theme"
    reason: str  # plain words, for the facilitator
    where: str = ""


@dataclass
class Section:
    kind: str
    block_id: str
    title: str
    anchor: str
    minutes: int | None = None
    notes: str = ""
    data: dict = field(default_factory=dict)
    in_contents: bool = True
    start_minute: int = 0


@dataclass
class Pack:
    workshop: object
    project: ProjectPage
    variant: str
    sections: list[Section]
    left_out: list[LeftOut]
    generated_at: datetime

    @property
    def variant_label(self) -> str:
        return VARIANTS[self.variant]

    @property
    def is_facilitator(self) -> bool:
        return self.variant == FACILITATOR

    @property
    def contents(self) -> list[Section]:
        return [s for s in self.sections if s.in_contents]

    @property
    def total_minutes(self) -> int:
        return sum(s.minutes or 0 for s in self.sections)

    @property
    def is_empty(self) -> bool:
        return not self.sections

    @property
    def regenerated(self) -> bool:
        return bool(self.left_out)

    def left_out_summary(self) -> str:
        return left_out_summary(self.left_out)


def left_out_summary(left_out: list[LeftOut]) -> str:
    """ "2 quotes and 1 clip" — what a pack left out, in words."""
    counts: dict[str, int] = {}
    for item in left_out:
        counts[item.what] = counts.get(item.what, 0) + 1
    parts = [f"{n} {what}{'' if n == 1 else 's'}" for what, n in counts.items()]
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""


# --- Themes -------------------------------------------------------------------------------------


@dataclass
class ResolvedTheme:
    theme: Theme | None
    note: str = ""  # e.g. "was merged into …", for the facilitator
    gone: str = ""  # why it cannot be shown


def resolve_theme(theme: Theme | None, project: ProjectPage) -> ResolvedTheme:
    """The project's current theme standing for `theme`: itself, its successor in a newer
    run (same stable key), or the theme it was merged into."""
    if theme is None:
        return ResolvedTheme(None, gone="A theme placed here has been removed.")
    if theme.project_id != project.pk:
        return ResolvedTheme(None, gone="A theme placed here belongs to another project.")
    current = Theme.objects.filter(project=project, run__is_current=True)
    found = theme if theme.run.is_current else current.filter(stable_key=theme.stable_key).first()
    note, seen = "", set()
    while found is not None and found.merged_into_id and found.pk not in seen:
        seen.add(found.pk)
        found = found.merged_into
        note = f"“{theme.display_label}” was merged into “{found.display_label}”."
    if found is None:
        return ResolvedTheme(
            None,
            gone=f"The theme “{theme.display_label}” is no longer among the project's themes "
            "(a new theme run did not find it again).",
        )
    if found.split_into:
        parts = ", ".join(
            f"“{t.display_label}”"
            for t in current.filter(stable_key__in=found.split_into, merged_into__isnull=True)
        )
        return ResolvedTheme(
            None,
            gone=f"The theme “{theme.display_label}” was split into {parts or 'new themes'}. "
            "Choose one of them instead.",
        )
    if not note and found.pk != theme.pk and found.display_label != theme.display_label:
        note = f"“{theme.display_label}” is now called “{found.display_label}”."
    return ResolvedTheme(found, note=note)


# How many of each kind of storyteller, in words: (one, many).
ROLE_COUNT_WORDS = {
    StorytellerRole.SERVICE_USER: ("person using the service", "people using the service"),
    StorytellerRole.STAFF: ("member of staff", "members of staff"),
    StorytellerRole.VOLUNTEER: ("volunteer or peer mentor", "volunteers or peer mentors"),
    StorytellerRole.PARTNER: ("person from a partner organisation", "people from partners"),
    StorytellerRole.FAMILY: ("family member", "family members"),
}


def roles_text(theme: Theme) -> str:
    """ "4 storytellers speak to this theme: 2 people using the service, 1 member of staff…"."""
    parts = []
    for role, count in sorted(theme.role_counts.items(), key=lambda kv: -kv[1]):
        if count:
            one, many = ROLE_COUNT_WORDS.get(role, (role, role))
            parts.append(f"{count} {one if count == 1 else many}")
    total = theme.storyteller_count
    people = "storyteller speaks" if total == 1 else "storytellers speak"
    return f"{total} {people} to this theme" + (f": {', '.join(parts)}." if parts else ".")


class Charts:
    """Theme charts for one pack, made once each. SVG (the page and the printed pack) is
    drawn by workshops.charts without matplotlib, which stays out of the web process; only
    a PNG, should one be asked for, is drawn with matplotlib."""

    def __init__(self, fmt: str | None):
        self.fmt = fmt
        self.made: dict[int, str] = {}

    def for_theme(self, theme: Theme) -> str:
        if not self.fmt or not any(theme.role_counts.values()):
            return ""
        if theme.pk not in self.made:
            roles = [(r, ROLE_LABELS.get(r, r)) for r, n in theme.role_counts.items() if n]
            if self.fmt == "svg":
                from workshops.charts import who_is_heard_bar

                counts = [(label, theme.role_counts[r]) for r, label in roles]
                data = who_is_heard_bar(counts, description=roles_text(theme))
                self.made[theme.pk] = data_uri(data, "image/svg+xml")
            else:
                from themes import charts

                table = {
                    "roles": roles,
                    "rows": [{"theme": theme, "counts": [theme.role_counts[r] for r, _ in roles]}],
                }
                data = charts.role_bars(table, fmt=self.fmt)
                self.made[theme.pk] = data_uri(data, charts.FORMATS[self.fmt])
        return self.made[theme.pk]


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


# --- Quotes ------------------------------------------------------------------------------------


def quote_of(segment: Segment) -> Quote:
    story = segment.story
    return Quote(
        segment_id=segment.pk,
        story_id=story.pk,
        text=redacted_text(segment),
        role=ROLE_LABELS.get(story.storyteller_role, ""),
        storyteller_id=story.storyteller_id,
        role_key=story.storyteller_role,
    )


def pick_quotes(
    theme: Theme, project: ProjectPage, *, limit: int = 3, exclude: set[int] | None = None
) -> list[Quote]:
    """Up to `limit` quotable segments of a theme, each from a different storyteller and,
    while there are any left, from a storyteller role not yet heard: pinned quotes first,
    then the most typical. Very short fragments are passed over."""
    exclude = exclude or set()
    quotable = selectors.quotable_segments(project=project).values("pk")
    assignments = (
        ThemeAssignment.objects.filter(theme=theme, segment__in=quotable)
        .exclude(segment_id__in=exclude)
        .select_related("segment", "segment__story")
        .prefetch_related("segment__redactions")
        .order_by("-pinned", "-probability", "segment__story_id", "segment__index")
    )
    candidates = []
    for assignment in assignments:
        quote = quote_of(assignment.segment)
        if len(quote.text.split()) >= MIN_QUOTE_WORDS:
            candidates.append(quote)
    chosen: list[Quote] = []
    tellers: set = set()
    roles: set = set()

    def teller(q: Quote):
        return q.storyteller_id or f"story-{q.story_id}"

    for want_new_role in (True, False):
        for quote in candidates:
            if len(chosen) >= limit:
                break
            if quote in chosen or teller(quote) in tellers:
                continue
            if want_new_role and quote.role_key in roles:
                continue
            chosen.append(quote)
            tellers.add(teller(quote))
            roles.add(quote.role_key)
    return chosen


# --- Resolving a whole pack -----------------------------------------------------------------


def material_ids(version) -> dict[str, set[int]]:
    """The segments, clips and themes a pack version refers to (by id)."""
    ids = {"segments": set(), "clips": set(), "themes": set()}
    for block in version.body:
        value = block.value
        if block.block_type == "theme":
            if value["theme"] is not None:
                ids["themes"].add(value["theme"].pk)
            ids["segments"] |= {s.pk for s in value["quotes"] if s is not None}
        elif block.block_type == "quote" and value["quote"] is not None:
            ids["segments"].add(value["quote"].pk)
        elif block.block_type == "clip" and value["clip"] is not None:
            ids["clips"].add(value["clip"].pk)
        elif block.block_type == "proposed_change":
            ids["themes"] |= {t.pk for t in value["themes"] if t is not None}
    return ids


def _why_not_quotable(segment: Segment | None, project: ProjectPage) -> str:
    if segment is None:
        return "A quote placed here is no longer in its story's transcript."
    story = segment.story
    if not story.path.startswith(project.path):
        return "A quote placed here belongs to another project."
    if not story.live:
        return "A quote's story is no longer approved for use."
    consent = Consent.objects.filter(story=story).order_by("-version").first()
    if consent is None or not consent.quote:
        return "A storyteller no longer agrees to be quoted in workshops."
    if not segment.transcript.is_current:
        return "A quote's story was transcribed again: choose the quote again."
    return "A quote is empty now."


def _why_not_usable_clip(clip: Clip | None, project: ProjectPage) -> str:
    if clip is None:
        return "A clip placed here has been deleted."
    story = clip.story
    if not story.path.startswith(project.path):
        return "A clip placed here belongs to another project."
    if not story.live:
        return "A clip's story is no longer approved for use."
    consent = Consent.objects.filter(story=story).order_by("-version").first()
    if consent is None or not consent.quote:
        return "A storyteller no longer agrees to be quoted or heard in workshops."
    if not clip.transcript.is_current:
        return "A clip's story was transcribed again: cut the clip again."
    return "A clip could not be made."


def resolve_pack(
    *,
    workshop,
    version=None,
    variant: str = PARTICIPANT,
    charts: str | None = "svg",
    clip_link: Callable[[Clip], str] | None = None,
    qr_codes: bool = False,
) -> Pack:
    """Everything a pack shows. `version` is the page version to read (the latest saved one
    for builders; see selectors.pack_version_for_user); `clip_link` gives each clip's page
    (absolute for print, where it becomes a QR code)."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown pack variant: {variant}")
    version = version or workshop
    project = selectors.workshop_project(workshop)
    ids = material_ids(version)
    segments = {
        s.pk: s
        for s in selectors.quotable_segments(project=project)
        .filter(pk__in=ids["segments"])
        .select_related("story")
        .prefetch_related("redactions")
    }
    clips = {
        c.pk: c
        for c in selectors.usable_clips(project=project)
        .filter(pk__in=ids["clips"])
        .select_related("story")
    }
    chart_maker = Charts(charts)
    left_out: list[LeftOut] = []
    sections: list[Section] = []
    used_quotes: set[int] = set(ids["segments"])

    def usable_quote(segment, where) -> Quote | None:
        allowed = segments.get(segment.pk) if segment is not None else None
        if allowed is None:
            left_out.append(LeftOut("quote", _why_not_quotable(segment, project), where))
            return None
        quote = quote_of(allowed)
        return quote if quote.text.strip() else None

    for index, block in enumerate(version.body):
        value, kind = block.value, block.block_type
        section = Section(kind=kind, block_id=block.id or "", title="", anchor=f"part-{index + 1}")
        if kind != "text":
            section.notes = value.get("notes") or ""
            section.minutes = value.get("minutes")
        if kind == "text":
            section.data = {"html": value}
            section.in_contents = False
        elif kind == "theme":
            resolved = resolve_theme(value["theme"], project)
            if resolved.theme is None:
                left_out.append(LeftOut("theme", resolved.gone))
                continue
            theme = resolved.theme
            section.title = theme.display_label
            quotes = [
                q
                for q in (usable_quote(s, theme.display_label) for s in value["quotes"])
                if q is not None
            ]
            if not value["quotes"]:
                quotes = pick_quotes(theme, project, exclude=used_quotes)
                used_quotes |= {q.segment_id for q in quotes}
            section.data = {
                "theme": theme,
                "description": theme.description,
                "who": roles_text(theme),
                "chart": chart_maker.for_theme(theme) if value["show_chart"] else "",
                "quotes": quotes,
                "note": resolved.note,
            }
        elif kind == "quote":
            quote = usable_quote(value["quote"], "A quote")
            if quote is None:
                continue
            section.title = "A quote"
            section.in_contents = False
            section.data = {"quote": quote}
        elif kind == "clip":
            clip = clips.get(value["clip"].pk) if value["clip"] is not None else None
            if clip is None:
                left_out.append(LeftOut("clip", _why_not_usable_clip(value["clip"], project)))
                continue
            section.title = f"Clip: {clip.title}" if clip.title else "A clip"
            link = clip_link(clip) if clip_link else ""
            section.data = {
                "clip": clip,
                "text": clip.text,
                "role": ROLE_LABELS.get(clip.story.storyteller_role, ""),
                "can_play": selectors.clip_can_play(clip),
                "is_video": clip.content_type.startswith("video/"),
                "link": link,
                "qr": qr_data_uri(link) if qr_codes and link else "",
                "length": _length(clip),
            }
        elif kind == "prompt":
            section.title = value["heading"] or "Talk about it"
            section.data = {"questions": [q for q in value["questions"] if q]}
        elif kind == "activity":
            spec = ACTIVITIES.get(value["template"], ACTIVITIES["what_matters"])
            section.title = value["title"] or spec["label"]
            steps = [line.strip() for line in (value["instructions"] or "").splitlines()]
            section.data = {
                "steps": [s for s in steps if s] or spec["participant"],
                "facilitator_steps": spec["facilitator"],
                "materials": value["materials"] or spec["materials"],
                "template": spec["label"],
            }
            if section.minutes is None:
                section.minutes = spec["minutes"]
        elif kind == "proposed_change":
            themes, notes = [], []
            for theme in value["themes"]:
                resolved = resolve_theme(theme, project)
                if resolved.theme is not None:
                    themes.append(resolved.theme)
                    if resolved.note:
                        notes.append(resolved.note)
                else:
                    notes.append(resolved.gone)
            section.title = f"Proposed change: {value['title']}"
            section.data = {
                "change": value["title"],
                "description": value["description"],
                "themes": themes,
                "theme_notes": notes,
            }
        else:
            continue
        sections.append(section)

    clock = 0
    for section in sections:
        section.start_minute = clock
        clock += section.minutes or 0
    return Pack(
        workshop=version,
        project=project,
        variant=variant,
        sections=sections,
        left_out=left_out,
        generated_at=timezone.now(),
    )


def _length(clip: Clip) -> str:
    if clip.start is None or clip.end is None:
        return ""
    seconds = round(clip.end - clip.start)
    return f"{seconds // 60}:{seconds % 60:02d}"


def qr_data_uri(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff")
