"""The pack builder's choosers offer only what the facilitator may see and consent allows:
their own projects' shown themes; quotes from approved stories whose storyteller agreed to
be quoted; clips likewise (played only with consent to voice)."""

import json

import pytest
from django.urls import reverse

from tests import factories
from tests.themes.helpers import HOUSING, analysed_story
from tests.workshops.conftest import make_clip, redact
from themes import services as theme_services
from themes.models import Theme, ThemeRun
from transcription.models import Segment


def _choose(client, name, **params):
    response = client.get(reverse(f"{name}:choose"), params)
    assert response.status_code == 200
    return json.loads(response.content)["html"]


def _chosen(client, name, pk):
    return client.get(reverse(f"{name}:chosen", args=[pk]))


@pytest.fixture
def foreign_theme(other_project):
    run = ThemeRun.objects.create(project=other_project, status="done", is_current=True)
    return Theme.objects.create(run=run, project=other_project, key=0, auto_label="elsewhere")


def test_the_theme_chooser_offers_the_projects_shown_themes(
    client, login, facilitator, manager, themes, foreign_theme
):
    theme_services.theme_hide(theme=themes["family"], user=facilitator)
    login(facilitator)
    html = _choose(client, "workshop_theme_chooser")
    assert "housing, auto (Probation voices)" in html and "work, auto" in html
    assert "“When I came out I had no flat and the landlord would not take me.”" in html
    assert "family, auto" not in html and "elsewhere" not in html
    assert "drink" in _choose(client, "workshop_theme_chooser", q="DRINK")
    assert "housing" not in _choose(client, "workshop_theme_chooser", q="drink")
    assert _chosen(client, "workshop_theme_chooser", themes["housing"].pk).status_code == 200
    assert _chosen(client, "workshop_theme_chooser", foreign_theme.pk).status_code == 404
    # Managers read packs but do not build them: nothing to choose.
    login(manager)
    assert "housing" not in _choose(client, "workshop_theme_chooser")
    assert _chosen(client, "workshop_theme_chooser", themes["housing"].pk).status_code == 404


def test_the_quote_chooser_offers_only_consented_approved_redacted_words(
    client, login, project, facilitator, reporter, steward, stories
):
    ann = Segment.objects.get(story=stories["Ann"], index=0)
    redact(ann, "landlord")
    eve = Segment.objects.get(story=stories["Eve"])
    waiting = analysed_story(
        project,
        reporter,
        steward,
        ["Waiting for the steward to approve me."],
        teller="Wes",
        approve=False,
    )
    login(facilitator)
    html = _choose(client, "workshop_quote_chooser")
    assert "When I came out I had no flat and the [name] would not take me." in html
    assert HOUSING[0] not in html
    assert eve.text not in html  # Eve did not agree to be quoted
    assert "Waiting for the steward" not in html  # not approved
    assert _chosen(client, "workshop_quote_chooser", eve.pk).status_code == 404
    waiting_segment = Segment.objects.get(story=waiting)
    assert _chosen(client, "workshop_quote_chooser", waiting_segment.pk).status_code == 404
    chosen = json.loads(_chosen(client, "workshop_quote_chooser", ann.pk).content)
    assert "[name]" in chosen["result"]["title"] and "landlord" not in chosen["result"]["title"]
    # A search never finds words by what was redacted.
    assert "When I came out" not in _choose(client, "workshop_quote_chooser", q="landlord would")
    assert "When I came out" in _choose(client, "workshop_quote_chooser", q="[NAME] would")


def test_the_clip_chooser_follows_quote_and_voice_consent(
    client, login, facilitator, stories, other_project, steward
):
    bob = make_clip(stories["Bob"], text="The wages were fine.", title="Wages")
    eve = make_clip(stories["Eve"], text="I wrote my cv.", title="CV")
    from stories.services import consent_withdraw

    cat = make_clip(stories["Cat"], text="The drink was how I coped.", title="Coping")
    consent_withdraw(
        story=stories["Cat"],
        user=stories["Cat"].reporter,
        keep={"record", "transcribe", "analyse", "quote"},
    )
    elsewhere = factories.user_with_role("reporter", other_project, username="oona")
    foreign = make_clip(
        analysed_story(other_project, elsewhere, steward, [HOUSING[1]], teller="Zed"),
        text="Not ours.",
        title="Foreign",
    )
    login(facilitator)
    html = _choose(client, "workshop_clip_chooser")
    assert "Wages" in html and "Coping" in html
    assert "CV" not in html and "Foreign" not in html
    rows = {
        title: row for row in html.split("<tr")[1:] for title in ("Wages", "Coping") if title in row
    }
    assert "Can be played" in rows["Wages"]
    assert "Words only" in rows["Coping"]  # Cat no longer agrees to her voice being played
    for clip, status in [(bob, 200), (cat, 200), (eve, 404), (foreign, 404)]:
        assert _chosen(client, "workshop_clip_chooser", clip.pk).status_code == status
