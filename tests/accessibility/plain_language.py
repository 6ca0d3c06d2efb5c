"""Collecting every message a reporter or storyteller reads, and judging how plain it is.

Messages come from where they are written: the capture form's fields (labels, help texts,
error messages, choices), the choices of the story models, sentences in the Python modules
that answer reporters (forms, capture views, upload and media checks, the consent script,
transcription progress), and the words of the templates they see. Reading level is measured
with textstat; the syllables come from pyphen's dictionaries (a textstat dependency, on
disk), never from the CMU dictionary that nltk would otherwise download at run time."""

import ast
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"

# Python modules whose sentences a reporter or storyteller may read.
MODULES = [
    "stories/consent.py",
    "stories/forms.py",
    "stories/capture_views.py",
    "stories/uploads.py",
    "stories/resumable.py",
    "stories/media.py",
    "stories/services.py",
    "transcription/selectors.py",
    "transcription/services.py",
    "transcription/media.py",
]

# Templates of the pages they use: the front end, the transcript editor and clips (reporters
# correct their own stories there), and the public "You said, we did" page.
TEMPLATE_FILES = [
    "base.html",
    "cms/home_page.html",
    "cms/project_page.html",
    "cms/locked_out.html",
    "stories/capture.html",
    "stories/_capture_form.html",
    "stories/_field.html",
    "stories/_field_errors.html",
    "stories/my_stories.html",
    "stories/story_status.html",
    "stories/_story_detail.html",
    "stories/_story_facts.html",
    "stories/upload_refused.html",
    "transcription/_progress.html",
    "transcription/_story_panel.html",
    "transcription/editor.html",
    "transcription/editor_line.html",
    "transcription/editor_history.html",
    "transcription/editor_redactions.html",
    "transcription/clip.html",
    "transcription/clip_list.html",
    "actions/you_said_we_did.html",
    "actions/_impact_panel.html",
    "actions/_impact_list.html",
    "actions/_impact_compact.html",
    "actions/_consent.html",
    "two_factor/core/login.html",
]

LONG_ENOUGH_TO_SCORE = 8  # words
MIN_READING_EASE = 60  # Flesch reading ease: 60-70 is "plain English"
MAX_GRADE = 8  # Flesch-Kincaid grade
MAX_SENTENCE_WORDS = 25
MAX_SYLLABLES_IN_SHORT_TEXT = 4  # a label or button: no word longer than this
PLACEHOLDER = "5"  # stands in for a value filled in later ({{ x }}, {n}, %(x)s)
# Long words that everyone here uses every day (the choices of stories.models: changing their
# labels would need a migration of the stories app).
FAMILIAR_WORDS = {"organisation"}


@dataclass(frozen=True)
class Message:
    source: str
    text: str


def _fill_placeholders(text: str) -> str:
    text = re.sub(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", PLACEHOLDER, text)
    return " ".join(text.split())


def _is_sentence(text: str) -> bool:
    # What people read starts with a capital letter and has more than one word; code
    # (identifiers, paths, formats, log keys) does not.
    return bool(re.match(r"^[A-Z“\"‘(]", text)) and " " in text and not re.search(r"[_<>/\\]", text)


# --- From Python ---------------------------------------------------------------------------


def _not_for_people(tree) -> set[int]:
    """Docstrings, and the arguments of logging calls (for the people running the server)."""
    skipped = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            skipped.add(id(body[0].value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"logger", "logging"}
        ):
            skipped.update(id(child) for child in ast.walk(node))
    return skipped


def module_messages(path: str) -> list[Message]:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    skipped = _not_for_people(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
            skipped.update(id(part) for part in node.values)
        else:
            continue
        text = _fill_placeholders(text)
        # Technical detail kept for stewards follows a blank line; reporters see the first part.
        text = text.split("Technical detail:")[0].strip()
        if _is_sentence(text):
            found.append(Message(path, text))
    return found


def form_messages() -> list[Message]:
    """Every label, help text, choice and error message of the capture form's fields."""
    from django import forms

    from stories.forms import CaptureForm
    from tests import factories

    project = factories.project(title="Plain words", slug="plain-words")
    reporter = factories.user_with_role("reporter", project, username="plain-reporter")
    form = CaptureForm(project=project, user=reporter)
    params = {"limit_value": 200, "show_value": 201, "max": 200, "value": "x", "num_files": 2}
    found = []
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.HiddenInput):
            continue
        source = f"capture form: {name}"
        found += [Message(source, str(field.label)), Message(source, str(field.help_text))]
        for choice in getattr(field, "choices", []):
            found.append(Message(source, str(choice[1])))
        for key, message in field.error_messages.items():
            try:
                text = str(message) % params
            except (KeyError, TypeError, ValueError):
                text = str(message)
            found.append(Message(f"{source} ({key} error)", text))
    return [m for m in found if m.text.strip() and m.text != "None"]


def choice_messages() -> list[Message]:
    from stories import models

    found = []
    for name in ("MediaState", "StorytellerRole", "Visibility", "ConsentMethod", "StoryKind"):
        for _value, label in getattr(models, name).choices:
            found.append(Message(f"stories.models.{name}", str(label)))
    found += [Message("stories.models.LANGUAGES", label) for _code, label in models.LANGUAGES]
    found += [Message("stories.models.CONSENT_SCOPES", s) for s in models.CONSENT_SCOPES.values()]
    from transcription.models import JobStatus

    found += [Message("transcription JobStatus", str(label)) for _v, label in JobStatus.choices]
    return found


def public_status_messages() -> list[Message]:
    """What the public page says about where an action is (the statuses stewards set up)."""
    from actions.models import ActionStatus

    return [
        Message("action status (public)", label)
        for label in ActionStatus.objects.values_list("public_label", flat=True)
        if label
    ]


# --- From templates ------------------------------------------------------------------------

_INLINE = {"a", "abbr", "b", "br", "code", "em", "i", "kbd", "label", "mark", "q", "small"}
_INLINE |= {"span", "strong", "sub", "sup", "time"}
_SPLIT = "\u00b6"  # where a template tag was: the text on either side is not one sentence


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self.current: list[str] = []
        self.hidden = 0

    def _flush(self):
        for part in "".join(self.current).split(_SPLIT):
            text = " ".join(part.split())
            if text:
                self.chunks.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self.hidden += 1
        for name, value in attrs:
            if name in {"aria-label", "alt", "title", "placeholder"} and value:
                self.chunks += [v for v in value.split(_SPLIT) if v.strip()]
        if tag not in _INLINE:
            self._flush()

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self.hidden -= 1
        if tag not in _INLINE:
            self._flush()

    def handle_data(self, data):
        if not self.hidden:
            self.current.append(data)


def template_messages(name: str) -> list[Message]:
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    source = re.sub(r"{% comment %}.*?{% endcomment %}", "", source, flags=re.S)
    source = re.sub(r"{#.*?#}", "", source, flags=re.S)
    source = re.sub(r"{%.*?%}", _SPLIT, source, flags=re.S)
    source = re.sub(r"{{.*?}}", PLACEHOLDER, source, flags=re.S)
    parser = _TextParser()
    parser.feed(source)
    parser._flush()
    texts = [" ".join(t.replace(_SPLIT, " ").split()) for t in parser.chunks]
    return [Message(name, t) for t in texts if re.search(r"[A-Za-z]{2}", t)]


def all_messages() -> list[Message]:
    """Every message, once (the first place it was found names it)."""
    found = form_messages() + choice_messages() + public_status_messages()
    for path in MODULES:
        found += module_messages(path)
    for name in TEMPLATE_FILES:
        found += template_messages(name)
    unique: dict[str, Message] = {}
    for message in found:
        unique.setdefault(message.text, message)
    return list(unique.values())


# --- Judging -------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!:;])\s+", text) if s.strip()]


def problems(text: str) -> list[str]:
    """Why the text is not plain enough ([] when it is)."""
    import textstat

    found = []
    for sentence in sentences(text):
        words = textstat.lexicon_count(sentence)
        if words > MAX_SENTENCE_WORDS:
            found.append(f"a sentence of {words} words (at most {MAX_SENTENCE_WORDS})")
    words = textstat.lexicon_count(text)
    if words >= LONG_ENOUGH_TO_SCORE:
        ease = textstat.flesch_reading_ease(text)
        grade = textstat.flesch_kincaid_grade(text)
        if ease < MIN_READING_EASE:
            found.append(f"reading ease {ease:.0f} (at least {MIN_READING_EASE})")
        if grade > MAX_GRADE:
            found.append(f"school grade {grade:.1f} (at most {MAX_GRADE})")
    else:
        for word in re.findall(r"[A-Za-z][A-Za-z'’-]*", text):
            if word.lower() in FAMILIAR_WORDS:
                continue
            if textstat.syllable_count(word) > MAX_SYLLABLES_IN_SHORT_TEXT:
                found.append(f"the long word “{word}”")
    return found
