"""What the matrix found and what was changed, seen as a person would: the menu, the
message, the list (see the report in tests/access/matrix.py notes)."""

from django.contrib.messages import get_messages
from django.urls import reverse

from actions.models import ActionStatus


def test_a_status_in_use_is_kept_with_a_message(world, clients):
    status = world.a.action.status
    client = clients["steward"]
    response = client.post(reverse("action_statuses:delete", args=[status.pk]))
    assert response.status_code == 302
    assert ActionStatus.objects.filter(pk=status.pk).exists()
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("cannot be deleted" in m for m in said), said


def test_the_action_chooser_offers_only_the_viewers_actions(world, clients):
    response = clients["mgr_a"].get(reverse("wagtailsnippetchoosers_actions_action:choose"))
    body = response.content.decode()
    assert world.a.action.title in body
    assert world.b.action.title not in body
    chosen = clients["mgr_a"].get(
        reverse("wagtailsnippetchoosers_actions_action:chosen_multiple"),
        {"id": [world.a.action.pk, world.b.action.pk, "x"]},
    )
    assert world.a.action.title in chosen.content.decode()
    assert world.b.action.title not in chosen.content.decode()


def test_only_stewards_see_the_page_types_report_in_the_menu(world, clients):
    report = reverse("wagtailadmin_reports:page_types_usage")
    assert report in clients["steward"].get(reverse("wagtailadmin_home")).content.decode()
    assert report not in clients["rep_a"].get(reverse("wagtailadmin_home")).content.decode()


def test_the_page_chooser_still_opens_at_the_viewers_own_pages(world, clients):
    own = clients["rep_a"].get(reverse("wagtailadmin_choose_page_child", args=[world.a.story.pk]))
    assert own.status_code == 200
    assert world.a.story.title in own.content.decode()
    other = clients["rep_a"].get(reverse("wagtailadmin_choose_page_child", args=[world.b.story.pk]))
    assert other.status_code == 404
