"""The home page, the four role groups, the stewards' page permissions and the approval
workflow every story goes through."""

from django.db import migrations

ROLE_GROUPS = ["Reporters", "Facilitators", "Managers", "Data stewards"]
STEWARD_PAGE_PERMISSIONS = ["add", "change", "publish", "lock", "unlock"]


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    Locale = apps.get_model("wagtailcore.Locale")
    HomePage = apps.get_model("cms.HomePage")
    GroupPagePermission = apps.get_model("wagtailcore.GroupPagePermission")
    Workflow = apps.get_model("wagtailcore.Workflow")
    WorkflowTask = apps.get_model("wagtailcore.WorkflowTask")
    WorkflowPage = apps.get_model("wagtailcore.WorkflowPage")
    GroupApprovalTask = apps.get_model("wagtailcore.GroupApprovalTask")

    # Home page in place of Wagtail's welcome page.
    Page.objects.filter(depth=2, slug="home", content_type__model="page").delete()
    root = Page.objects.get(depth=1)
    home_type, _ = ContentType.objects.get_or_create(model="homepage", app_label="cms")
    home = HomePage.objects.create(
        title="Storyloom", draft_title="Storyloom", slug="home", content_type=home_type,
        path=f"{root.path}0001", depth=2, numchild=0, url_path="/home/",
        locale=Locale.objects.first(),
    )
    root.numchild = Page.objects.filter(depth=2).count()
    root.save(update_fields=["numchild"])
    Site.objects.filter(is_default_site=True).delete()
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)

    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    groups = {}
    for name in ROLE_GROUPS:
        groups[name], _ = Group.objects.get_or_create(name=name)
        groups[name].permissions.add(access_admin)

    stewards = groups["Data stewards"]
    for codename in STEWARD_PAGE_PERMISSIONS:
        GroupPagePermission.objects.get_or_create(
            group=stewards,
            page=root,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=f"{codename}_page"
            ),
        )

    # Wagtail's default "Moderators approval" workflow gives way to the stewards'.
    task_type, _ = ContentType.objects.get_or_create(
        app_label="wagtailcore", model="groupapprovaltask"
    )
    task = GroupApprovalTask.objects.create(
        name="Data steward approves for analysis", content_type=task_type, active=True
    )
    task.groups.add(stewards)
    workflow = Workflow.objects.create(name="Data steward approval", active=True)
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowPage.objects.filter(page=root).delete()
    WorkflowPage.objects.create(page=root, workflow=workflow)
    Workflow.objects.exclude(pk=workflow.pk).update(active=False)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0006_formstate"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
