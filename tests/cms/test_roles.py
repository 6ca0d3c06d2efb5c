from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import GroupPagePermission, Page

from cms.models import HomePage, ProjectGroup, ProjectPage
from cms.roles import Role
from cms.selectors import project_roles_for_user, projects_for_user
from tests import factories


def test_the_four_role_groups_exist_and_open_the_admin(db):
    for name in ["Reporters", "Facilitators", "Managers", "Data stewards"]:
        group = Group.objects.get(name=name)
        assert group.permissions.filter(codename="access_admin").exists()


def test_stewards_approve_everywhere_and_govern_data(db):
    stewards = Group.objects.get(name="Data stewards")
    root = Page.objects.get(depth=1)
    codenames = set(
        GroupPagePermission.objects.filter(group=stewards, page=root).values_list(
            "permission__codename", flat=True
        )
    )
    assert {"add_page", "change_page", "publish_page"} <= codenames
    assert stewards.permissions.filter(codename="manage_data_governance").exists()


def test_a_reporter_belongs_to_their_project_only(project, other_project, reporter):
    assert list(projects_for_user(user=reporter)) == [project]
    assert project_roles_for_user(user=reporter, project=project) == {Role.REPORTER}
    assert project_roles_for_user(user=reporter, project=other_project) == set()
    # Page permission "add" on the project: create stories, edit only their own.
    group = ProjectGroup.objects.get(project=project, role=Role.REPORTER).group
    assert reporter.groups.filter(pk=group.pk).exists()
    assert GroupPagePermission.objects.filter(
        group=group, page=project, permission__codename="add_page"
    ).exists()


def test_a_project_page_is_for_its_own_people(client, project, other_project, reporter):
    client.force_login(reporter)
    assert client.get(project.url).status_code == 200
    assert client.get(other_project.url).status_code == 404
    client.logout()
    assert client.get(project.url).status_code == 404


def test_a_project_made_in_the_admin_gets_its_role_groups(client, steward):
    steward.is_superuser = True
    steward.save()
    client.force_login(steward)
    home = HomePage.objects.get()
    response = client.post(
        reverse("wagtailadmin_pages:add", args=("cms", "projectpage", home.pk)),
        {
            "title": "Hostel voices",
            "slug": "hostel-voices",
            "organisation": "Hostel trust",
            "retention_months": 24,
            "custom_vocabulary": "",
            "description": '{"blocks": [], "entityMap": {}}',
        },
    )
    assert response.status_code == 302, response.content[:2000]
    project = ProjectPage.objects.get(slug="hostel-voices")
    assert set(project.role_groups.values_list("role", flat=True)) == {
        "reporter",
        "facilitator",
        "manager",
    }


def test_only_stewards_see_the_data_governance_fields(client, project, steward):
    url = reverse("wagtailadmin_pages:edit", args=(project.pk,))
    client.force_login(steward)
    assert b'name="allow_storyteller_contact"' in client.get(url).content

    editors = Group.objects.create(name="Project editors")
    editors.permissions.add(*Group.objects.get(name="Reporters").permissions.all())
    GroupPagePermission.objects.create(group=editors, page=project, permission_type="change")
    editor = factories.user("editor")
    editor.groups.add(editors)
    client.force_login(editor)
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="organisation"' in page.content
    assert b'name="allow_storyteller_contact"' not in page.content
    assert b'name="retention_months"' not in page.content


# --- Role answers kept for a request -----------------------------------------------------------

STEWARD_SQL = '"auth_group"."name" ='
PROJECT_ROLES_SQL = '"cms_projectgroup"."project_id" ='


def _count(queries, fragment):
    return sum(fragment in q["sql"] for q in queries.captured_queries)


def test_a_page_asks_whether_the_user_is_a_steward_once(client, project, facilitator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(facilitator)
    for url in [
        reverse("wagtailadmin_home"),
        project.url,
        reverse("wagtailadmin_explore", args=[project.pk]),
    ]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert _count(queries, STEWARD_SQL) <= 1, url
        assert _count(queries, PROJECT_ROLES_SQL) <= 1, url


def test_role_answers_follow_group_changes(project, facilitator):
    from django.contrib.auth import get_user_model

    from cms.roles import user_is_steward
    from cms.services import project_remove_member

    stewards = Group.objects.get(name="Data stewards")
    assert not user_is_steward(facilitator)
    assert project_roles_for_user(user=facilitator, project=project) == {Role.FACILITATOR}
    # Changed through the same object: it forgets what it knew.
    facilitator.groups.add(stewards)
    assert user_is_steward(facilitator)
    assert Role.STEWARD in project_roles_for_user(user=facilitator, project=project)
    # Changed elsewhere (another object, as another request would): a user fetched afresh
    # (each request fetches its user) sees the change.
    get_user_model().objects.get(pk=facilitator.pk).groups.remove(stewards)
    fresh = get_user_model().objects.get(pk=facilitator.pk)
    assert not user_is_steward(fresh)
    project_remove_member(project=project, user=fresh, role=Role.FACILITATOR)
    again = get_user_model().objects.get(pk=facilitator.pk)
    assert project_roles_for_user(user=again, project=project) == set()
    # Switched off or made a superuser: read each time, not kept.
    again.is_superuser = True
    assert user_is_steward(again)
    again.is_active = False
    assert not user_is_steward(again)


def test_role_answers_are_not_shared_between_users_or_requests(client, project, facilitator):
    from django.contrib.auth import get_user_model

    from cms.roles import user_is_steward

    stewards = Group.objects.get(name="Data stewards")
    other = factories.user("olga")
    assert not user_is_steward(facilitator)
    other.groups.add(stewards)
    assert user_is_steward(other) and not user_is_steward(facilitator)

    # The themes page asks project_roles_for_user (a 404 for non-members).
    url = reverse("themes_admin:project", args=[project.pk])
    client.force_login(facilitator)
    assert client.get(url).status_code == 200
    # Between two requests the facilitator loses the project: the next request knows.
    from cms.services import project_remove_member

    project_remove_member(
        project=project,
        user=get_user_model().objects.get(pk=facilitator.pk),
        role=Role.FACILITATOR,
    )
    assert client.get(url).status_code == 404
