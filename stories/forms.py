"""The reporter's capture form. It checks what the reporter typed and chose; the writes are
made by stories.services, called from the view."""

from contextlib import contextmanager
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from stories import media
from stories.consent import SCRIPT_VERSION
from stories.models import (
    CONSENT_SCOPES,
    LANGUAGES,
    ConsentMethod,
    StorytellerRole,
    Visibility,
)
from stories.selectors import storytellers_for_reporter
from stories.services import ConsentInput, StoryInput

NO_CONSENT_TO_RECORD = "The storyteller must agree to the recording before a story can be kept."
EMPTY_FILE = "The file is empty. Please record or choose the file again."
ONE_FILE_ONLY = "Please choose one file here, not several."
UNEXPECTED_FILE = "A file was sent that this form does not ask for. Please send the form again."


class StoryType:
    RECORD = "record"
    UPLOAD = "upload"
    TYPE = "type"
    TEXT_FILE = "text_file"

    choices = [
        (RECORD, "Record it now"),
        (UPLOAD, "Upload a sound or video file"),
        (TYPE, "Type the story"),
        (TEXT_FILE, "Upload a text file (.txt)"),
    ]
    # The form field that holds the story for each way of adding it.
    fields = {RECORD: "recording", UPLOAD: "media_file", TYPE: "text", TEXT_FILE: "text_file"}


@contextmanager
def _path_of(upload):
    """A path on disk for an uploaded file. Uploads stream to temporary files (see
    settings.FILE_UPLOAD_HANDLERS); anything else is copied to one for the check."""
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    copy = media.temporary_copy(upload)
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def _file_field(label, *, accept, help_text="", capture=False):
    attrs = {"accept": accept}
    if capture:
        attrs["capture"] = "user"
    return forms.FileField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.FileInput(attrs=attrs),
        error_messages={"empty": EMPTY_FILE},
    )


class CaptureForm(forms.Form):
    title = forms.CharField(
        label="Title of the story",
        max_length=200,
        help_text="A few words about what the story is about.",
        error_messages={"required": "Please give the story a title."},
    )
    storyteller = forms.ModelChoiceField(
        label="Storyteller",
        queryset=None,
        required=False,
        empty_label="Someone new (type a made-up name below)",
        help_text="Choose someone you have recorded before.",
    )
    storyteller_new = forms.CharField(
        label="Or: a made-up name for someone new",
        max_length=80,
        required=False,
        help_text="Never their real name.",
    )
    storyteller_role = forms.ChoiceField(
        label="Who is the storyteller?",
        choices=StorytellerRole.choices,
        initial=StorytellerRole.SERVICE_USER,
        widget=forms.RadioSelect,
        error_messages={"required": "Please say who the storyteller is."},
    )
    language = forms.ChoiceField(
        label="Language of the story",
        choices=LANGUAGES,
        initial="en",
        error_messages={"required": "Please choose the language of the story."},
    )
    recorded_on = forms.DateField(
        label="Date the story was told",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"],
        error_messages={
            "required": "Please give the date the story was told.",
            "invalid": "Please give a date, for example 25/11/2026.",
        },
    )
    location = forms.CharField(
        label="Where (optional)",
        max_length=100,
        required=False,
        help_text="A town or area, never an address.",
    )
    summary = forms.CharField(
        label="Short summary (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tags = forms.CharField(
        label="Tags (optional)",
        max_length=300,
        required=False,
        help_text="Words that describe the story, with commas between them.",
    )
    visibility = forms.ChoiceField(
        label="Who in the organisation may see it once approved?",
        choices=Visibility.choices,
        initial=Visibility.TEAM,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose who may see the story."},
    )

    story_type = forms.ChoiceField(
        label="How will you add the story?",
        choices=StoryType.choices,
        initial=StoryType.RECORD,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose how you will add the story."},
    )
    recording = _file_field(
        "Recording", accept="audio/*", capture=True, help_text="Record the storyteller's voice."
    )
    media_file = _file_field(
        "Sound or video file",
        accept="audio/*,video/*",
        help_text="For example a recording from your phone.",
    )
    text = forms.CharField(
        label="The story",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Use the storyteller's own words.",
    )
    text_file = _file_field("Text file", accept=".txt,text/plain", help_text="A .txt file.")

    consent_method = forms.ChoiceField(
        label="How did the storyteller give consent?",
        choices=ConsentMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Please say how consent was given: written or spoken."},
    )
    consent_evidence = _file_field(
        "Proof of consent (optional)",
        accept="image/*,application/pdf,audio/*,video/*",
        help_text="A photo or PDF of the signed form, or a recording of them saying yes.",
    )
    script_version = forms.CharField(widget=forms.HiddenInput, initial=SCRIPT_VERSION)

    def __init__(self, *args, project, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        known = storytellers_for_reporter(user=user, project=project)
        self.fields["storyteller"].queryset = known
        self.has_known_storytellers = known.exists()
        if not self.has_known_storytellers:
            self.fields["storyteller_new"].label = "A made-up name for the storyteller"
        self.fields["recorded_on"].initial = timezone.localdate
        # One checkbox per thing the storyteller can agree to, in the script's order.
        for scope, label in CONSENT_SCOPES.items():
            self.fields[f"consent_{scope}"] = forms.BooleanField(
                label=label,
                required=scope == "record",
                error_messages={"required": NO_CONSENT_TO_RECORD},
            )
        self.order_fields(list(self.fields))
        # capture.js shows the same plain words before anything is uploaded.
        for field in self.fields.values():
            if field.required:
                field.widget.attrs["data-required-message"] = field.error_messages["required"]

    @property
    def consent_fields(self):
        return [self[f"consent_{scope}"] for scope in CONSENT_SCOPES]

    def clean_recorded_on(self):
        day = self.cleaned_data["recorded_on"]
        if day > timezone.localdate():
            raise ValidationError("The date cannot be in the future.")
        return day

    def clean_tags(self):
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]

    def clean_script_version(self):
        if self.cleaned_data["script_version"] != SCRIPT_VERSION:
            raise ValidationError(
                "The consent wording has changed. Please read the new wording to the "
                "storyteller, then ask again."
            )
        return SCRIPT_VERSION

    def clean(self):
        cleaned = super().clean()
        self._clean_files()
        self._clean_storyteller(cleaned)
        self._clean_story(cleaned)
        return cleaned

    def _clean_files(self):
        """Every file sent is one the form asked for, one per box: a form field keeps only
        the last file of its name, so a second one would otherwise go unchecked."""
        file_fields = {name for name, f in self.fields.items() if isinstance(f, forms.FileField)}
        if set(self.files) - file_fields:
            self.add_error(None, UNEXPECTED_FILE)
        for name in set(self.files) & file_fields:
            if len(self.files.getlist(name)) > 1:
                self.errors.pop(name, None)
                self.cleaned_data.pop(name, None)
                self.add_error(name, ONE_FILE_ONLY)

    def clean_consent_evidence(self):
        """A photo of the signed form is checked for what it really is here; PDFs and
        recordings by the service (services.story_create)."""
        evidence = self.cleaned_data.get("consent_evidence")
        if not evidence:
            return evidence
        with _path_of(evidence) as path:
            if media.looks_like_image(path):
                media.check_image(path)
        return evidence

    def _clean_storyteller(self, cleaned):
        chosen, new = cleaned.get("storyteller"), cleaned.get("storyteller_new", "").strip()
        if chosen and new:
            self.add_error(
                "storyteller_new",
                "Please choose a storyteller from the list, or type a new name, not both.",
            )
        elif not chosen and not new and "storyteller" not in self.errors:
            self.add_error(
                "storyteller_new",
                "Please choose a storyteller, or type a made-up name for someone new.",
            )

    def _clean_story(self, cleaned):
        story_type = cleaned.get("story_type")
        if not story_type:
            return
        field = StoryType.fields[story_type]
        if field in self.errors:
            return
        value = cleaned.get(field)
        if story_type == StoryType.TYPE:
            if not (value or "").strip():
                self.add_error(field, "Please type the story, or choose another way to add it.")
            return
        if not value:
            missing = {
                StoryType.RECORD: "Please record the story, or choose another way to add it.",
                StoryType.UPLOAD: "Please choose a sound or video file.",
                StoryType.TEXT_FILE: "Please choose a text file.",
            }
            self.add_error(field, missing[story_type])
            return
        if story_type == StoryType.TEXT_FILE:
            # Recordings are checked by the service (services.story_create); a text file
            # is read here, because the service takes its words.
            try:
                with _path_of(value) as path:
                    cleaned["text"] = media.check_text(path)
            except ValidationError as error:
                self.add_error(field, error)

    # --- What the services need ----------------------------------------------------------

    def story_input(self, storyteller) -> StoryInput:
        data = self.cleaned_data
        return StoryInput(
            title=data["title"],
            storyteller=storyteller,
            storyteller_role=data["storyteller_role"],
            language=data["language"],
            summary=data["summary"],
            recorded_on=data["recorded_on"],
            location=data["location"],
            visibility=data["visibility"],
            tags=data["tags"],
        )

    def consent_input(self) -> ConsentInput:
        data = self.cleaned_data
        return ConsentInput(
            scopes={scope for scope in CONSENT_SCOPES if data.get(f"consent_{scope}")},
            method=data["consent_method"],
            script_version=data["script_version"],
            evidence=data.get("consent_evidence") or None,
        )

    def story_content(self) -> dict:
        """The keyword arguments for services.story_create: a recording or a text."""
        story_type = self.cleaned_data["story_type"]
        if story_type in (StoryType.RECORD, StoryType.UPLOAD):
            return {"recording": self.cleaned_data[StoryType.fields[story_type]]}
        return {"text": self.cleaned_data["text"]}

    def add_service_error(self, error: ValidationError) -> None:
        """Put the services' messages next to the inputs they name."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            if name == "recording":  # the service's recording is this form's chosen file
                name = StoryType.fields[self.cleaned_data["story_type"]]
            self.add_error(name if name in self.fields else None, errors)
