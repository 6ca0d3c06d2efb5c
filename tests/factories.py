"""Building blocks for tests: real objects made through the real services."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from wagtail.models import Page

from cms.models import HomePage, ProjectPage
from cms.roles import Role
from cms.services import project_add_member, project_ensure_role_groups
from stories import services
from stories.models import CONSENT_SCOPES

PASSWORD = "correct-horse-battery"
AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "audio"


def project(title="Probation voices", slug="probation-voices", **fields) -> ProjectPage:
    home = HomePage.objects.first() or Page.objects.get(depth=1)
    page = ProjectPage(
        title=title, slug=slug, organisation=fields.pop("organisation", "CRC"), **fields
    )
    home.add_child(instance=page)
    page.save_revision().publish()
    project_ensure_role_groups(project=page)
    return page


def user(username, **fields):
    return get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.org", **fields
    )


def user_with_role(role, project, username):
    member = user(username)
    project_add_member(project=project, user=member, role=Role(role))
    return member


def steward(username="stella"):
    member = user(username)
    member.groups.add(Group.objects.get(name="Data stewards"))
    return member


def storyteller(project, reporter, pseudonym="Sam"):
    return services.storyteller_get_or_create(project=project, pseudonym=pseudonym, user=reporter)


def story(
    project,
    reporter,
    *,
    title="Waiting room",
    audio="jfk.flac",
    text="",
    scopes=None,
    submit=False,
    storyteller_name="Sam",
    **fields,
):
    teller = storyteller(project, reporter, storyteller_name)
    consent = services.ConsentInput(scopes=set(scopes if scopes is not None else CONSENT_SCOPES))
    info = services.StoryInput(title=title, storyteller=teller, **fields)
    if text:
        page = services.story_create(
            project=project, reporter=reporter, story=info, consent=consent, text=text
        )
    else:
        with (AUDIO / audio).open("rb") as handle:
            page = services.story_create(
                project=project,
                reporter=reporter,
                story=info,
                consent=consent,
                recording=File(handle, name=audio),
            )
    if submit:
        services.story_submit(story=page, user=reporter)
    return page
