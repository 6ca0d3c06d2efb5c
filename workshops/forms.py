from django import forms

from workshops.models import Audience


class WorkshopCreateForm(forms.Form):
    title = forms.CharField(
        label="Name of the workshop",
        max_length=255,
        error_messages={"required": "Please give the workshop a name."},
    )
    date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date"
    )
    venue = forms.CharField(required=False, max_length=200, label="Where")
    audience = forms.MultipleChoiceField(
        choices=Audience.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Who is coming",
    )
    objectives = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="What the workshop is for"
    )
    draft = forms.BooleanField(
        required=False,
        initial=True,
        label="Draft the pack from the project's themes (you can change everything after)",
    )


class ProposalForm(forms.Form):
    title = forms.CharField(
        label="The proposed change",
        max_length=255,
        error_messages={"required": "Please write the proposed change."},
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="More detail"
    )
    themes = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Themes it answers",
    )

    def __init__(self, *args, themes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["themes"].queryset = themes
        self.fields["themes"].label_from_instance = lambda theme: theme.display_label


class SignificantStoryForm(forms.Form):
    story = forms.ChoiceField(
        label="The story participants chose",
        error_messages={
            "required": "Please choose a story.",
            "invalid_choice": "Please choose one of the stories quoted in this pack.",
        },
    )
    why = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why they found it most significant",
        error_messages={"required": "Please write why participants chose this story."},
    )

    def __init__(self, *args, stories: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["story"].choices = [("", "Choose a story")] + [
            (str(pk), label) for pk, label in stories
        ]
