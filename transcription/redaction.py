"""Redaction, the pure part: finding personal data in text, rendering a segment with its
accepted redactions replaced by placeholders, and mapping redacted spans to time ranges.
Nothing here writes; `redaction_services` does.

`redacted_text(segment)` is the ONE function every output uses (editor for non-stewards,
captions, exports, clip text, theme analysis), so that a redaction accepted once disappears
everywhere."""

import re
from collections.abc import Iterable

from transcription.models import (
    PLACEHOLDERS,
    Redaction,
    RedactionKind,
    RedactionSource,
    RedactionStatus,
    Segment,
)

PAD_SECONDS = 0.05

Span = tuple[int, int, str]  # start_char, end_char, kind


# --- Rendering -------------------------------------------------------------------------------


def _accepted(segment: Segment) -> list[Redaction]:
    # `.all()` uses a prefetch when the caller made one (prefetch_related("redactions")).
    return [r for r in segment.redactions.all() if r.status == RedactionStatus.ACCEPTED]


def _locate(text: str, redaction: Redaction) -> list[tuple[int, int]]:
    """Where the redaction's text is now. Its stored span when that still holds the redacted
    words; if the text moved under it (an edit not yet re-anchored), every place the words
    now appear — redacting too much is better than showing a name; if they are gone, nowhere.
    """
    start, end = redaction.start_char, redaction.end_char
    original = redaction.original
    if not original:
        return []
    if text[start:end] == original:
        return [(start, end)]
    found, at = [], text.find(original)
    while at != -1:
        found.append((at, at + len(original)))
        at = text.find(original, at + 1)
    return found


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted, with overlapping or touching spans merged into one. A merged span keeps the
    kind of its longest part (the first, on a tie), so it reads as one placeholder."""
    merged: list[tuple[int, int, str, int]] = []  # start, end, kind, length of kind's part
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            m_start, m_end, m_kind, m_len = merged[-1]
            if end - start > m_len:
                m_kind, m_len = kind, end - start
            merged[-1] = (m_start, max(m_end, end), m_kind, m_len)
        else:
            merged.append((start, end, kind, end - start))
    return [(start, end, kind) for start, end, kind, _ in merged]


def accepted_spans(segment: Segment) -> list[Span]:
    """The segment's accepted redactions as merged character spans of its current text."""
    text = segment.text
    spans = []
    for redaction in _accepted(segment):
        for start, end in _locate(text, redaction):
            spans.append((max(0, start), min(len(text), end), redaction.kind))
    return merge_spans(spans)


def render(text: str, spans: Iterable[Span]) -> str:
    """`text` with each span replaced by its kind's placeholder (spans merged first)."""
    out, cursor = [], 0
    for start, end, kind in merge_spans(spans):
        out.append(text[cursor:start])
        out.append(PLACEHOLDERS.get(kind, PLACEHOLDERS[RedactionKind.OTHER]))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def redacted_text(segment: Segment) -> str:
    """The segment's text with every ACCEPTED redaction replaced by its placeholder
    (`[name]`, `[place]`, `[number]`); overlapping accepted spans read as one placeholder."""
    return render(segment.text, accepted_spans(segment))


# --- Time ranges -----------------------------------------------------------------------------


def word_char_spans(segment: Segment) -> list[tuple[int, int, float, float, int]]:
    """Each timed word that can be found, in order, in the segment's current text, as
    (start_char, end_char, start_seconds, end_seconds, index in segment.words). Words
    changed by an edit are not found and are left out."""
    text, cursor, located = segment.text, 0, []
    for index, word in enumerate(segment.words or []):
        token = str(word.get("text", "")).strip()
        start, end = word.get("start"), word.get("end")
        if not token or start is None or end is None:
            continue
        at = text.find(token, cursor)
        # A word is found only near where it should be, so that a short word ("a") does not
        # jump to a far-off match when the words before it were edited.
        if at == -1 or text[cursor:at].strip().count(" ") > 3:
            continue
        located.append((at, at + len(token), float(start), float(end), index))
        cursor = at + len(token)
    return located


def span_time_range(segment: Segment, start_char: int, end_char: int) -> tuple[float, float] | None:
    """The time range, in seconds and unpadded, of every word a character span touches.
    Where part of the span is text no timed word accounts for (edited words), the range runs
    from the end of the last timed word before it to the start of the first one after it (or
    the segment's own bounds); none for a written story."""
    if segment.start is None or segment.end is None:
        return None
    text = segment.text
    words = word_char_spans(segment)
    touched = [w for w in words if w[0] < end_char and w[1] > start_char]
    covered = set()
    for w_start, w_end, *_ in touched:
        covered.update(range(w_start, w_end))
    uncovered = any(
        not text[i].isspace() and i not in covered
        for i in range(max(0, start_char), min(len(text), end_char))
    )
    starts = [w[2] for w in touched]
    ends = [w[3] for w in touched]
    if uncovered or not touched:
        before = [w[3] for w in words if w[1] <= start_char]
        after = [w[2] for w in words if w[0] >= end_char]
        starts.append(max(before) if before else segment.start)
        ends.append(min(after) if after else segment.end)
    low, high = min(starts), max(ends)
    if high <= low:  # words that overlap oddly: fall back to the whole segment
        low, high = segment.start, segment.end
    return low, high


def merge_ranges(ranges: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def segment_time_ranges(segment: Segment) -> list[tuple[float, float]]:
    """Padded time ranges of the segment's accepted redactions."""
    ranges = []
    for start, end, _ in accepted_spans(segment):
        found = span_time_range(segment, start, end)
        if found:
            ranges.append((max(0.0, found[0] - PAD_SECONDS), found[1] + PAD_SECONDS))
    return merge_ranges(ranges)


def redaction_time_ranges(story) -> list[tuple[float, float]]:
    """Merged, sorted time ranges (seconds) of the accepted redactions of the story's current
    transcript: what every playable copy and clip must silence."""
    segments = (
        Segment.objects.filter(
            story=story,
            transcript__is_current=True,
            redactions__status=RedactionStatus.ACCEPTED,
        )
        .distinct()
        .prefetch_related("redactions")
        .order_by("index")
    )
    ranges = []
    for segment in segments:
        ranges.extend(segment_time_ranges(segment))
    return merge_ranges(ranges)


# --- Suggestions -----------------------------------------------------------------------------

_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
    "twenty-first twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth "
    "twenty-seventh twenty-eighth twenty-ninth thirtieth thirty-first"
).split()
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH = r"(?:" + "|".join(_MONTHS + [m[:3] for m in _MONTHS if m != "May"] + ["Sept"]) + r")"
_DAY = (
    r"(?:(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?|"
    + "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True))
    + r")"
)
_YEAR = r"(?:19|20)\d{2}"

_STREET_TYPES = (
    "Road Rd Street St Avenue Ave Lane Close Drive Way Crescent Grove Place Court Gardens "
    "Terrace Hill Park Square Walk Row Mews Rise View Green Parade Boulevard Estate"
).split()
_CAP = r"[A-Z][a-z'’-]+"

# UK numbers: 07700 900123, 07700900123, 020 7946 0958, +44 7700 900123,
# +44 (0)20 7946 0958, 0044 161 496 0000. The digits are counted afterwards (_phone_ok).
PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)44[\s-]?(?:\(0\)[\s-]?)?|\(?0)"
    r"\d{2,4}\)?(?:[\s-]?\d){6,8}(?!\d)"
)

# (kind, compiled pattern). Each names a group "span" where only part of the match is the
# personal data; otherwise the whole match is.
PATTERNS: list[tuple[str, re.Pattern]] = [
    (
        RedactionKind.EMAIL,
        re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    ),
    (
        # As Whisper writes one that was spoken: "john dot smith at gmail dot com".
        RedactionKind.EMAIL,
        re.compile(
            r"\b\w+(?:\s+(?:dot|underscore)\s+\w+)*\s+at\s+\w+(?:\s+dot\s+\w+)*"
            r"\s+dot\s+(?:com|org|net|uk|co\s+dot\s+uk|gov\s+dot\s+uk)\b",
            re.IGNORECASE,
        ),
    ),
    (RedactionKind.NUMBER, PHONE),
    (
        # National Insurance numbers: AB 12 34 56 C (D F I Q U V never start one).
        RedactionKind.NUMBER,
        re.compile(
            r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
            re.IGNORECASE,
        ),
    ),
    (
        # UK postcodes, as written (capitals): M1 1AE, SW1A 1AA, B33 8TH, DN55 1PT.
        RedactionKind.PLACE,
        re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b"),
    ),
    (
        # Vehicle registrations: AB12 CDE (since 2001) and A123 BCD (1983–2001).
        RedactionKind.NUMBER,
        re.compile(r"\b(?:[A-Z]{2}\d{2}|[A-Z]\d{1,3}) ?[A-Z]{3}\b"),
    ),
    (
        # Numeric dates: 12/03/1990, 12-3-90, 12.03.1990.
        RedactionKind.DATE,
        re.compile(r"\b(?:0?[1-9]|[12]\d|3[01])([/.-])(?:0?[1-9]|1[0-2])\1(?:19|20)?\d{2}\b"),
    ),
    (
        # Spoken dates with a year: "12th of March 1990", "the third of May, 1985",
        # "March 12th 1990", "12 Mar 1990".
        RedactionKind.DATE,
        re.compile(
            rf"\b(?:{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY}),?\s+{_YEAR}\b",
            re.IGNORECASE,
        ),
    ),
    (
        # A birthday without a year still identifies: "born on the 12th of March".
        RedactionKind.DATE,
        re.compile(
            rf"\b(?:born|birthday|date\s+of\s+birth|d\.?o\.?b\.?)\b[^.?!]{{0,20}}?"
            rf"(?P<span>{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY})\b",
            re.IGNORECASE,
        ),
    ),
    (
        # Street addresses: "14 Elm Road", "Flat 3, 221B Baker Street", "on Elm Road".
        RedactionKind.PLACE,
        re.compile(
            r"(?:\b(?:Flat|Apartment|Unit)\s+\d+[A-Za-z]?,?\s+)?"
            r"(?:\b\d{1,4}[A-Za-z]?,?\s+)?"
            rf"\b(?:{_CAP}\s+){{1,3}}(?:{'|'.join(_STREET_TYPES)})\b"
        ),
    ),
]

# Capitalised words that are not names (or are not identifying): the heuristic leaves them.
STOPWORDS = {
    word.lower()
    for word in """
    I I'm I've I'll I'd Im Ive Ill Id OK Okay Yes No Yeah Hello Hi Oh Mr Mrs Ms Miss Dr Sir
    Madam Mum Mom Dad Mummy Daddy Nan Nana Gran Grandad Granddad Auntie Uncle God Jesus Lord
    Christmas Easter Ramadan Eid Diwali New Year Bank Holiday Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday January February March April May June July August
    September October November December Probation Police Prison Court Crown Magistrates
    Magistrates' Council Hospital Jobcentre Universal Credit Benefits Housing Home Office NHS
    GP Doctor Nurse Officer Offender Manager Service Services Team Centre Center Approved
    Premises Hostel Unit Ward Department Government Social Worker Care AA NA Rehab English
    British England Scotland Wales Welsh Scottish Irish Ireland UK Britain Internet Facebook
    WhatsApp Google Covid Corona Lockdown The A An And But Or So Then When What Why How Who
    Where If It Its It's That This There They We You He She His Her My Our Your Their Me
    Because After Before Just Well Like Not Never Always Everyone Everybody Nobody Someone
    Sorry Thanks Thank Please Right Sure Anyway Also Even Still Now Today Yesterday Tomorrow
    """.split()
}

# A word that looks like a name: capitalised (O'Brien, McDonald, Smith-Jones), not all
# capitals (NHS, CRC).
_NAME_WORD = re.compile(r"(?:[A-Z]['’])?(?:Ma?c)?[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)*")
_WORD = re.compile(r"\S+")


def _split_token(token: str) -> tuple[str, str, str]:
    """Leading punctuation, the word, trailing punctuation (a possessive "'s" counts as
    trailing, so "Dave's" is the name "Dave")."""
    start, end = 0, len(token)
    while start < end and not token[start].isalnum():
        start += 1
    while end > start and not token[end - 1].isalnum():
        end -= 1
    core = token[start:end]
    for suffix in ("'s", "’s"):
        if core.endswith(suffix) and len(core) > len(suffix):
            end -= len(suffix)
            break
    return token[:start], token[start:end], token[end:]


_SENTENCE_END = re.compile(r"[.!?:…]")


def capitalised_names(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised words that are not at the start of a sentence and not common
    words ("I", days, months, "Probation"…): a rough guess at names, offered as suggestions
    only. "John Smith" is one run; punctuation between words ends a run."""
    spans: list[tuple[int, int]] = []
    run_start = run_end = None
    sentence_start = True
    for match in _WORD.finditer(text):
        lead, core, trail = _split_token(match.group())
        is_name = (
            not sentence_start
            and _NAME_WORD.fullmatch(core) is not None
            and core.lower() not in STOPWORDS
        )
        if run_start is not None and (not is_name or lead):
            spans.append((run_start, run_end))
            run_start = None
        if is_name:
            core_start = match.start() + len(lead)
            if run_start is None:
                run_start = core_start
            run_end = core_start + len(core)
            if trail:
                spans.append((run_start, run_end))
                run_start = None
        if core:
            sentence_start = bool(_SENTENCE_END.search(trail))
        elif _SENTENCE_END.search(lead):  # a lone "..." or "?"
            sentence_start = True
    if run_start is not None:
        spans.append((run_start, run_end))
    return spans


def _phone_ok(number: str) -> bool:
    """A UK number has 9 or 10 digits after the trunk 0 (or after +44 / 0044)."""
    digits = re.sub(r"\D", "", number)
    if number.startswith("+"):
        national = digits[2:]
    elif digits.startswith("0044"):
        national = digits[4:]
    else:
        national = digits[1:]
    national = national.removeprefix("0")  # +44 (0)20 …
    return len(national) in (9, 10) and national[0] in "1235789"


def name_pattern(term: str) -> re.Pattern | None:
    """A name-list term as whole words, any case, any spacing between its words."""
    words = term.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<![\w]){body}(?![\w])", re.IGNORECASE)


def find_suggestions(
    text: str, *, names: list[tuple[str, str]] = ()
) -> list[tuple[int, int, str, str]]:
    """Spans of `text` that look like personal data, as (start_char, end_char, kind,
    source), sorted and not overlapping. Name-list terms (`names`: (term, kind) pairs) win
    over patterns, and patterns over the capitalised-name guess."""
    found: list[tuple[int, int, str, str, int]] = []  # ..., priority (lower wins)
    for term, kind in names:
        pattern = name_pattern(term)
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            found.append((match.start(), match.end(), kind, RedactionSource.NAME_LIST, 0))
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            group = "span" if "span" in pattern.groupindex else 0
            start, end = match.span(group)
            if pattern is PHONE and not _phone_ok(match.group()):
                continue
            found.append((start, end, kind, RedactionSource.PATTERN, 1))
    for start, end in capitalised_names(text):
        found.append((start, end, RedactionKind.NAME, RedactionSource.HEURISTIC, 2))

    # Overlapping finds become one suggestion covering them all (so "14 Elm Road" is not
    # left as "14 [place] Road" when "Elm" is on a name list), named after the best part:
    # a name-list term, then a pattern, then the capitalised-name guess; longer, then earlier.
    groups: list[list[tuple[int, int, str, str, int]]] = []
    for candidate in sorted(found):
        if groups and candidate[0] < max(c[1] for c in groups[-1]):
            groups[-1].append(candidate)
        else:
            groups.append([candidate])
    suggestions = []
    for group in groups:
        best = min(group, key=lambda f: (f[4], -(f[1] - f[0]), f[0]))
        start, end = min(c[0] for c in group), max(c[1] for c in group)
        suggestions.append((start, end, best[2], best[3]))
    return suggestions


def redacted_words(segment: Segment) -> list[dict]:
    """The segment's timed words as an export may show them: the words of each accepted
    span become one placeholder word covering their time; words that can no longer be found
    in the (edited) text are left out, since they may hold what was corrected away."""
    spans = accepted_spans(segment)
    out: list[dict] = []
    placeholders: dict[int, dict] = {}
    for w_start, w_end, start, end, index in word_char_spans(segment):
        word = segment.words[index]
        hit = next((i for i, s in enumerate(spans) if s[0] < w_end and s[1] > w_start), None)
        if hit is None:
            out.append(dict(word))
        elif hit in placeholders:
            placeholders[hit]["end"] = max(placeholders[hit]["end"], end)
        else:
            kind = spans[hit][2]
            placeholders[hit] = {
                "text": " " + PLACEHOLDERS.get(kind, PLACEHOLDERS[RedactionKind.OTHER]),
                "start": start,
                "end": end,
                "probability": word.get("probability"),
            }
            out.append(placeholders[hit])
    return out


def hidden_words(stories) -> dict[str, str]:
    """Every word (casefolded, two letters or more) of the accepted redactions of the given
    stories' current transcripts, with its placeholder. For text made from many segments at
    once — a theme's keywords and automatic label — which cannot be redacted span by span."""
    originals = Redaction.objects.filter(
        story__in=stories,
        status=RedactionStatus.ACCEPTED,
        segment__transcript__is_current=True,
    ).values_list("original", "kind")
    words: dict[str, str] = {}
    for original, kind in originals:
        for word in re.findall(r"\w[\w'’-]*", original):
            if len(word) >= 2:
                words.setdefault(word.casefold(), PLACEHOLDERS.get(kind, "[redacted]"))
    return words


def scrub(text: str, words: dict[str, str]) -> str:
    """`text` with each of `words` (whole words, any case) replaced by its placeholder."""
    if not words or not text:
        return text
    pattern = re.compile(
        r"(?<!\w)("
        + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        + r")(?!\w)",
        re.IGNORECASE,
    )
    return pattern.sub(lambda m: words[m.group(1).casefold()], text)
