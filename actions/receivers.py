"""What actions does when upstream apps announce something (connected in apps.py), and the
panel it adds to story pages."""

import logging

from django.template.loader import render_to_string

from actions import selectors, services
from stories.selectors import stories_visible_to

logger = logging.getLogger(__name__)


def on_proposal_accepted(sender, *, proposal_id, user=None, **kwargs):
    """A workshop accepted a proposal: make its action (once, however often announced).
    This runs after the workshop's decision is saved: a failure here is logged, never shown
    to the facilitator as a failed decision (a manager can add the action by hand)."""
    try:
        services.action_create_from_proposal(proposal_id=proposal_id, user=user)
    except Exception:  # noqa: BLE001
        logger.exception("Could not make the action for accepted proposal %s", proposal_id)


def impact_panel(*, story, user, compact=False) -> str:
    """On a story's page: what happened because of it (the impact trail), for its reporter
    to take back to the storyteller."""
    if not stories_visible_to(user=user).filter(pk=story.pk).exists():
        return ""
    impact = selectors.story_impact(user=user, story_id=story.pk)
    if compact:
        if not impact["actions"]:
            return ""
        return render_to_string("actions/_impact_compact.html", impact)
    return render_to_string("actions/_impact_panel.html", impact)


def impact_panels(*, stories, user, compact=False) -> dict[int, str]:
    """impact_panel for a page of a list of stories, by story id, in a few queries."""
    stories = list(stories)
    if not compact:
        return {story.pk: impact_panel(story=story, user=user) for story in stories}
    visible = set(
        stories_visible_to(user=user)
        .filter(pk__in=[story.pk for story in stories])
        .values_list("pk", flat=True)
    )
    found = selectors.actions_for_stories([story for story in stories if story.pk in visible])
    return {
        story_id: render_to_string("actions/_impact_compact.html", {"actions": actions})
        for story_id, actions in found.items()
        if actions
    }


impact_panel.many = impact_panels  # see stories.panels.story_panels_many


def you_said_we_did_link(*, project, user):
    """The project's page links to its public "You said, we did" page."""
    from django.urls import reverse

    return ("You said, we did", reverse("actions:you_said_we_did", args=[project.slug]))
