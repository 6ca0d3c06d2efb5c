"""The Wagtail admin: stewards' storyteller and consent views, the Stories listing, and the
page explorer, chooser and search that never show a story to someone who may not see it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, reverse
from wagtail.models import ModelLogEntry
from wagtail.search import index

from stories import services
from stories.models import StoryIndexPage, StoryPage, Storyteller
from tests import factories

PDF = b"%PDF-1.4\n% signed\n" + b"1" * 300

OWN = "Rita waits for the bus"
OTHERS = "Omar talks about curfew"
APPROVED = "Rita on the hostel"
ELSEWHERE = "Bea in the job club"


@pytest.fixture
def stories(project, other_project, reporter, other_reporter, steward):
    elsewhere = factories.user_with_role("reporter", other_project, username="bea")
    own = factories.story(project, reporter, title=OWN, text="The bus.", submit=True)
    approved = factories.story(
        project, reporter, title=APPROVED, text="The hostel.", storyteller_role="staff"
    )
    services.story_approve(story=approved, user=steward)
    others = factories.story(
        project, other_reporter, title=OTHERS, text="Curfew.", storyteller_name="Jo"
    )
    remote = factories.story(
        other_project, elsewhere, title=ELSEWHERE, text="Jobs.", storyteller_name="Al"
    )
    found = {"own": own, "approved": approved, "others": others, "remote": remote}
    # Search indexing runs in the task worker (Wagtail 8 enqueues it); do what it does.
    for page in StoryPage.objects.all():
        index.insert_or_update_object(page)
    return found


def page_text(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response
    return response.content.decode()


def assert_refused(response):
    """Wagtail sends people without permission back to the dashboard."""
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")


# --- Stories listing ----------------------------------------------------------------------


def test_each_person_sees_only_their_stories_in_the_listing(
    client, stories, reporter, facilitator, steward
):
    url = reverse("story_listing:index")
    expected = {
        reporter: {OWN, APPROVED},
        facilitator: {APPROVED},
        steward: {OWN, APPROVED, OTHERS, ELSEWHERE},
    }
    for user, visible in expected.items():
        client.force_login(user)
        html = page_text(client, url)
        for title in (OWN, APPROVED, OTHERS, ELSEWHERE):
            assert (title in html) == (title in visible), (user, title)


def test_a_manager_gets_no_story_listing_and_no_menu_item(client, stories, manager):
    client.force_login(manager)
    assert_refused(client.get(reverse("story_listing:index")))
    assert reverse("story_listing:index") not in page_text(client, reverse("wagtailadmin_home"))


def test_the_stories_menu_item_is_there_for_a_reporter(client, reporter):
    client.force_login(reporter)
    html = page_text(client, reverse("wagtailadmin_home"))
    assert reverse("story_listing:index") in html and "Stories" in html


@pytest.mark.parametrize(
    "status, titles",
    [
        ("draft", {OTHERS, ELSEWHERE}),
        ("waiting", {OWN}),
        ("approved", {APPROVED}),
    ],
)
def test_the_listing_filters_by_status(client, stories, steward, status, titles):
    client.force_login(steward)
    html = page_text(client, reverse("story_listing:index"), status=status)
    for title in (OWN, APPROVED, OTHERS, ELSEWHERE):
        assert (title in html) == (title in titles), (status, title)


def test_the_listing_filters_by_project_and_role_and_searches(
    client, stories, steward, reporter, other_project
):
    client.force_login(steward)
    url = reverse("story_listing:index")
    html = page_text(client, url, project=other_project.pk)
    assert ELSEWHERE in html and OWN not in html and OTHERS not in html

    html = page_text(client, url, storyteller_role="staff")
    assert APPROVED in html and OWN not in html and ELSEWHERE not in html

    html = page_text(client, url, q="curfew")
    assert OTHERS in html and OWN not in html

    # A reporter's search still only finds their own stories.
    client.force_login(reporter)
    assert OTHERS not in page_text(client, url, q="curfew")
    html = page_text(client, url, q="bus", status="waiting")
    assert OWN in html


def test_the_listing_offers_no_way_to_add_a_story_without_consent(
    client, stories, reporter, project
):
    client.force_login(reporter)
    index = StoryIndexPage.objects.child_of(project).get()
    add_url = reverse("wagtailadmin_pages:add", args=["stories", "storypage", index.pk])
    assert add_url not in page_text(client, reverse("story_listing:index"))

    response = client.get(add_url, follow=True)
    assert response.redirect_chain[0][0] == reverse("story_listing:index")
    assert "consent is recorded" in response.content.decode()
    assert StoryPage.objects.count() == 4


# --- Explorer, chooser, search ------------------------------------------------------------


def test_the_explorer_hides_other_reporters_stories(client, stories, reporter, project):
    index = StoryIndexPage.objects.child_of(project).get()
    client.force_login(reporter)

    for html in (
        page_text(client, reverse("wagtailadmin_explore", args=[index.pk])),
        page_text(client, reverse("wagtailadmin_explore", args=[index.pk]), q="curfew"),
        page_text(client, reverse("wagtailadmin_explore", args=[project.pk]), q="Omar"),
    ):
        assert OTHERS not in html
    html = page_text(client, reverse("wagtailadmin_explore", args=[index.pk]))
    assert OWN in html and APPROVED in html

    api = client.get(
        reverse("wagtailadmin_api:pages:listing"),
        {"child_of": index.pk, "for_explorer": "1"},
    ).json()
    titles = {item["title"] for item in api["items"]}
    assert titles == {OWN, APPROVED}


def test_the_steward_explores_everything(client, stories, steward, project):
    index = StoryIndexPage.objects.child_of(project).get()
    client.force_login(steward)
    html = page_text(client, reverse("wagtailadmin_explore", args=[index.pk]))
    assert OWN in html and OTHERS in html and APPROVED in html


def test_admin_page_search_hides_other_reporters_stories(client, stories, reporter, steward):
    client.force_login(reporter)
    url = reverse("wagtailadmin_pages:search")
    assert OTHERS not in page_text(client, url, q="Omar")
    assert OTHERS not in page_text(client, reverse("wagtailadmin_pages:search_results"), q="Omar")
    assert OWN in page_text(client, url, q="Rita")

    client.force_login(steward)
    assert OTHERS in page_text(client, url, q="Omar")


def test_the_page_chooser_hides_other_reporters_stories(client, stories, reporter, project):
    index = StoryIndexPage.objects.child_of(project).get()
    client.force_login(reporter)
    browse = page_text(client, reverse("wagtailadmin_choose_page_child", args=[index.pk]))
    assert OWN in browse and OTHERS not in browse
    search = page_text(client, reverse("wagtailadmin_choose_page_search"), q="Omar")
    assert OTHERS not in search
    assert OWN in page_text(client, reverse("wagtailadmin_choose_page_search"), q="Rita")


def test_a_reporter_cannot_open_someone_elses_story_in_the_admin(
    client, stories, reporter, other_reporter
):
    own, others = stories["own"], stories["others"]
    # Wagtail's own "add" permission: edit your own pages, not other people's.
    assert own.permissions_for_user(reporter).can_edit()
    assert not others.permissions_for_user(reporter).can_edit()

    client.force_login(reporter)
    for name in ("edit", "history", "revisions_index", "workflow_history", "view_draft"):
        try:
            url = reverse(f"wagtailadmin_pages:{name}", args=[others.pk])
        except NoReverseMatch:
            continue
        response = client.get(url)
        assert response.status_code in (302, 404), name
        assert OTHERS not in response.content.decode()
    assert client.get(reverse("wagtailadmin_pages:edit", args=[others.pk])).status_code == 404
    assert client.get(reverse("wagtailadmin_pages:edit", args=[own.pk])).status_code == 200
    assert StoryPage.objects.get(pk=others.pk).title == OTHERS


def test_a_facilitator_can_read_but_not_edit_an_approved_story(client, stories, facilitator):
    approved = stories["approved"]
    assert not approved.permissions_for_user(facilitator).can_edit()
    client.force_login(facilitator)
    assert_refused(client.get(reverse("wagtailadmin_pages:edit", args=[approved.pk])))
    assert client.get(reverse("wagtailadmin_pages:edit", args=[stories["own"].pk])).status_code == (
        404
    )


# --- Storytellers -------------------------------------------------------------------------


def test_stewards_list_filter_and_search_storytellers(
    client, stories, steward, project, other_project
):
    Storyteller.objects.filter(pseudonym="Jo").update(age_band="25_34")
    client.force_login(steward)
    url = reverse("storytellers:index")

    html = page_text(client, url)
    assert all(name in html for name in ("Sam", "Jo", "Al"))
    html = page_text(client, url, project=other_project.pk)
    assert "Al" in html and ">Jo<" not in html and "Sam" not in html
    html = page_text(client, url, age_band="25_34")
    assert "Jo" in html and "Sam" not in html
    html = page_text(client, url, q="sa")
    assert "Sam" in html and "Al<" not in html


def test_storytellers_cannot_be_added_or_deleted_in_the_admin(client, stories, steward):
    client.force_login(steward)
    teller = Storyteller.objects.get(pseudonym="Sam")
    html = page_text(client, reverse("storytellers:index"))
    assert "/admin/storytellers/new/" not in html
    assert "/delete/" not in html
    for path in ("/admin/storytellers/new/", f"/admin/storytellers/delete/{teller.pk}/"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert Storyteller.objects.filter(pk=teller.pk).exists()


def test_reporters_do_not_get_the_storyteller_admin(client, stories, reporter):
    client.force_login(reporter)
    assert_refused(client.get(reverse("storytellers:index")))
    teller = Storyteller.objects.get(pseudonym="Sam")
    assert_refused(client.get(reverse("storytellers:edit", args=[teller.pk])))


def edit_storyteller(client, teller, **changes):
    data = {
        "pseudonym": teller.pseudonym,
        "age_band": teller.age_band,
        "gender": teller.gender,
        "contact_details": teller.contact_details,
        **changes,
    }
    return client.post(reverse("storytellers:edit", args=[teller.pk]), data)


def test_contact_details_are_refused_where_the_project_does_not_keep_them(client, stories, steward):
    teller = Storyteller.objects.get(pseudonym="Sam")
    client.force_login(steward)

    response = edit_storyteller(client, teller, gender="Woman", contact_details="07700 900123")

    assert response.status_code == 200
    html = response.content.decode()
    assert "This project does not keep storytellers" in html
    teller.refresh_from_db()
    assert teller.contact_details == "" and teller.gender == ""


def test_contact_details_are_kept_where_the_project_allows_them(client, stories, steward, project):
    project.allow_storyteller_contact = True
    project.save()
    teller = Storyteller.objects.get(pseudonym="Sam")
    client.force_login(steward)

    response = edit_storyteller(client, teller, contact_details="Via the hostel office")

    assert response.status_code == 302
    teller.refresh_from_db()
    assert teller.contact_details == "Via the hostel office"
    entry = ModelLogEntry.objects.get(object_id=str(teller.pk), action="wagtail.edit")
    assert entry.user == steward and entry.data["fields"] == ["contact_details"]


def test_storyteller_update_service(stories, project, reporter, other_reporter, steward):
    teller = Storyteller.objects.get(pseudonym="Sam")
    with pytest.raises(ValidationError) as error:
        services.storyteller_update(storyteller=teller, user=steward, contact_details="07700")
    assert "contact_details" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.storyteller_update(storyteller=teller, user=steward, pseudonym="jo")
    assert "already has this name" in error.value.message_dict["pseudonym"][0]
    with pytest.raises(PermissionDenied):
        services.storyteller_update(storyteller=teller, user=other_reporter, gender="Man")

    updated = services.storyteller_update(storyteller=teller, user=reporter, age_band="35_49")
    assert updated.age_band == "35_49"
    # Contact details kept from before the project stopped allowing them can be removed.
    Storyteller.objects.filter(pk=teller.pk).update(contact_details="old number")
    cleared = services.storyteller_update(storyteller=teller, user=steward, contact_details="")
    assert cleared.contact_details == ""


# --- Consent history ----------------------------------------------------------------------


@pytest.fixture
def consents(stories, reporter, other_reporter):
    with_evidence = services.consent_record(
        story=stories["own"],
        user=reporter,
        consent=services.ConsentInput(
            scopes={"record", "transcribe"}, evidence=ContentFile(PDF, name="form.pdf")
        ),
    )
    withdrawal = services.consent_withdraw(story=stories["others"], user=other_reporter)
    return {"with_evidence": with_evidence, "withdrawal": withdrawal}


def test_stewards_read_the_consent_history(client, consents, steward, other_project):
    client.force_login(steward)
    url = reverse("consent:index")
    html = page_text(client, url)
    assert OWN in html and OTHERS in html and ELSEWHERE in html
    assert "Record my story, Turn the recording into text" in html

    html = page_text(client, url, withdrawn="yes")
    assert OTHERS in html and OWN not in html and ELSEWHERE not in html
    html = page_text(client, url, project=other_project.pk)
    assert ELSEWHERE in html and OWN not in html


def test_the_consent_inspect_view_links_to_the_evidence(client, consents, steward):
    client.force_login(steward)
    consent = consents["with_evidence"]
    html = page_text(client, reverse("consent:inspect", args=[consent.pk]))
    evidence_url = reverse("stories:consent_evidence", args=[consent.pk])
    assert f'href="{evidence_url}"' in html
    assert "Turn the recording into text" in html
    assert client.get(evidence_url).status_code == 200


def test_consent_cannot_be_created_changed_copied_or_deleted_in_the_admin(
    client, consents, steward
):
    client.force_login(steward)
    consent = consents["withdrawal"]
    for view in ("add", "edit", "delete", "copy"):
        with pytest.raises(NoReverseMatch):
            reverse(f"consent:{view}", args=[] if view == "add" else [consent.pk])
    for path in (
        "/admin/consent/new/",
        f"/admin/consent/edit/{consent.pk}/",
        f"/admin/consent/delete/{consent.pk}/",
        f"/admin/consent/copy/{consent.pk}/",
    ):
        assert client.post(path, {"record": "on"}).status_code == 404
    html = page_text(client, reverse("consent:index"))
    assert "/admin/consent/edit/" not in html and "/admin/consent/new/" not in html
    assert consent.story.consents.count() == 2


def test_reporters_do_not_get_the_consent_admin(client, consents, reporter):
    client.force_login(reporter)
    assert_refused(client.get(reverse("consent:index")))
    assert_refused(client.get(reverse("consent:inspect", args=[consents["with_evidence"].pk])))
