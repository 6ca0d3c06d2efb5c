"""The pack builder's choosers (Wagtail modal choosers). Each lists only what the viewer may
put in a pack — through workshops.selectors — and the chosen view refuses anything else
(404), so a hand-made request cannot pick another project's material either."""

import textwrap

from django import forms
from django.http import Http404
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView, ChosenView
from wagtail.admin.viewsets.chooser import ChooserViewSet
from wagtail.admin.widgets.chooser import BaseChooser

from stories.models import StorytellerRole
from transcription.redaction import redacted_text

ROLE_LABELS = dict(StorytellerRole.choices)


def short(text: str, width: int = 90) -> str:
    return textwrap.shorten(text or "", width=width, placeholder="…")


def theme_title(theme) -> str:
    return f"{theme.display_label} ({theme.project.title})"


def segment_title(segment) -> str:
    role = ROLE_LABELS.get(segment.story.storyteller_role, "")
    return f"“{short(redacted_text(segment))}” — {role}"


def clip_can_play(clip) -> bool:
    from workshops.selectors import clip_can_play

    return clip_can_play(clip)


def clip_title(clip) -> str:
    return clip.title or f"“{short(clip.text, 60)}”"


class SearchForm(forms.Form):
    """A plain search box; `match` decides what a search term finds."""

    q = forms.CharField(label="Search", required=False)

    def __init__(self, *args, match=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.match = match
        self.is_searching = False
        self.is_filtering_by_collection = False
        self.search_query = None

    def filter(self, objects):
        query = self.cleaned_data.get("q", "").strip()
        if not query:
            return objects
        self.is_searching, self.search_query = True, query
        return self.match(objects, query.lower())


class _ChooseMixin:
    title_of = staticmethod(str)
    extra_columns: list = []

    def get_object_list(self):
        return self.viewset_object_list(self.request.user)

    def get_filter_form(self):
        return SearchForm(self.request.GET, match=self.search)

    def apply_object_list_ordering(self, objects):
        return objects  # the selectors order them

    @property
    def columns(self):
        if self.is_multiple_choice:
            title = TitleColumn(
                "title", label="Title", accessor=self.title_of, label_prefix="chooser-modal-select"
            )
        else:
            title = TitleColumn(
                "title",
                label="Title",
                accessor=self.title_of,
                get_url=lambda obj: self.append_preserved_url_parameters(self._chosen_url(obj)),
                link_attrs={"data-chooser-modal-choice": True},
            )
        return [title, *self.extra_columns]

    def _chosen_url(self, obj):
        from django.urls import reverse

        return reverse(self.chosen_url_name, args=(obj.pk,))


class _ChosenMixin:
    title_of = staticmethod(str)

    def get_object(self, pk):
        try:
            return self.viewset_object_list(self.request.user).get(pk=pk)
        except (ValueError, TypeError, self.model_class.DoesNotExist):
            raise Http404 from None

    def get_display_title(self, instance):
        return self.title_of(instance)


# --- Themes ----------------------------------------------------------------------------------


def _themes(user):
    from workshops import selectors  # not at import time: models import this module

    return selectors.themes_for_chooser(user=user)


def _search_themes(objects, query):
    return [
        t for t in objects if query in t.display_label.lower() or query in t.description.lower()
    ]


def top_quote(theme) -> str:
    """The theme's first quote as a pack would show it (consented, redacted)."""
    from workshops.pack import pick_quotes

    quotes = pick_quotes(theme, theme.project, limit=1)
    return f"“{short(quotes[0].text, 80)}”" if quotes else "No quote may be used"


THEME_COLUMNS = [
    Column("project", label="Project", accessor=lambda t: t.project.title),
    Column("storytellers", label="Storytellers", accessor="storyteller_count"),
    Column("description", label="Description", accessor=lambda t: short(t.description, 80)),
    Column("quote", label="Top quote", accessor=top_quote),
]


class ThemeChooseView(_ChooseMixin, ChooseView):
    viewset_object_list = staticmethod(_themes)
    search = staticmethod(_search_themes)
    title_of = staticmethod(theme_title)
    extra_columns = THEME_COLUMNS


class ThemeChooseResultsView(_ChooseMixin, ChooseResultsView):
    viewset_object_list = staticmethod(_themes)
    search = staticmethod(_search_themes)
    title_of = staticmethod(theme_title)
    extra_columns = THEME_COLUMNS


class ThemeChosenView(_ChosenMixin, ChosenView):
    viewset_object_list = staticmethod(_themes)
    title_of = staticmethod(theme_title)


class ThemeChooserWidget(BaseChooser):
    def get_display_title(self, instance):
        return theme_title(instance)


class ThemeChooserViewSet(ChooserViewSet):
    model = "themes.Theme"
    icon = "tag"
    choose_one_text = "Choose a theme"
    choose_another_text = "Choose another theme"
    edit_item_text = "Open the theme"
    choose_view_class = ThemeChooseView
    choose_results_view_class = ThemeChooseResultsView
    chosen_view_class = ThemeChosenView
    base_widget_class = ThemeChooserWidget
    register_widget = False
    per_page = 20


# --- Quotes (transcript segments) -------------------------------------------------------------


def _segments(user):
    from workshops import selectors

    return selectors.segments_for_chooser(user=user)


def _search_segments(objects, query):
    return [s for s in objects[:3000] if query in redacted_text(s).lower()]


SEGMENT_COLUMNS = [
    Column("story", label="Story", accessor=lambda s: s.story.title),
]


class QuoteChooseView(_ChooseMixin, ChooseView):
    viewset_object_list = staticmethod(_segments)
    search = staticmethod(_search_segments)
    title_of = staticmethod(segment_title)
    extra_columns = SEGMENT_COLUMNS


class QuoteChooseResultsView(_ChooseMixin, ChooseResultsView):
    viewset_object_list = staticmethod(_segments)
    search = staticmethod(_search_segments)
    title_of = staticmethod(segment_title)
    extra_columns = SEGMENT_COLUMNS


class QuoteChosenView(_ChosenMixin, ChosenView):
    viewset_object_list = staticmethod(_segments)
    title_of = staticmethod(segment_title)


class QuoteChooserWidget(BaseChooser):
    def get_display_title(self, instance):
        return segment_title(instance)

    def get_value_data_from_instance(self, instance):
        # No edit link: a quote is changed in the transcript editor, not here.
        return {"id": instance.pk, "edit_url": None, "title": self.get_display_title(instance)}


class QuoteChooserViewSet(ChooserViewSet):
    model = "transcription.Segment"
    icon = "openquote"
    choose_one_text = "Choose a quote"
    choose_another_text = "Choose another quote"
    edit_item_text = "Open"
    choose_view_class = QuoteChooseView
    choose_results_view_class = QuoteChooseResultsView
    chosen_view_class = QuoteChosenView
    base_widget_class = QuoteChooserWidget
    register_widget = False
    per_page = 20


# --- Clips ------------------------------------------------------------------------------------


def _clips(user):
    from workshops import selectors

    return selectors.clips_for_chooser(user=user)


def _search_clips(objects, query):
    return [c for c in objects if query in c.title.lower() or query in c.text.lower()]


CLIP_COLUMNS = [
    Column("story", label="Story", accessor=lambda c: c.story.title),
    Column(
        "sound",
        label="Sound",
        accessor=lambda c: "Can be played" if clip_can_play(c) else "Words only",
    ),
    Column("text", label="Words", accessor=lambda c: short(c.text, 80)),
]


class ClipChooseView(_ChooseMixin, ChooseView):
    viewset_object_list = staticmethod(_clips)
    search = staticmethod(_search_clips)
    title_of = staticmethod(clip_title)
    extra_columns = CLIP_COLUMNS


class ClipChooseResultsView(_ChooseMixin, ChooseResultsView):
    viewset_object_list = staticmethod(_clips)
    search = staticmethod(_search_clips)
    title_of = staticmethod(clip_title)
    extra_columns = CLIP_COLUMNS


class ClipChosenView(_ChosenMixin, ChosenView):
    viewset_object_list = staticmethod(_clips)
    title_of = staticmethod(clip_title)


class ClipChooserWidget(BaseChooser):
    def get_display_title(self, instance):
        return clip_title(instance)


class ClipChooserViewSet(ChooserViewSet):
    model = "transcription.Clip"
    icon = "media"
    choose_one_text = "Choose a clip"
    choose_another_text = "Choose another clip"
    edit_item_text = "Open the clip"
    choose_view_class = ClipChooseView
    choose_results_view_class = ClipChooseResultsView
    chosen_view_class = ClipChosenView
    base_widget_class = ClipChooserWidget
    register_widget = False
    per_page = 20


theme_chooser_viewset = ThemeChooserViewSet(
    "workshop_theme_chooser", url_prefix="workshops/choose/theme"
)
quote_chooser_viewset = QuoteChooserViewSet(
    "workshop_quote_chooser", url_prefix="workshops/choose/quote"
)
clip_chooser_viewset = ClipChooserViewSet(
    "workshop_clip_chooser", url_prefix="workshops/choose/clip"
)
