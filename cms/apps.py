from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cms import checks  # noqa: F401  (registers the deployment checks)

        _forget_roles_when_groups_change()

        _spreadsheet_exports_never_write_formulas()


def _forget_roles_when_groups_change() -> None:
    """A user object keeps its role answers for its request (cms.roles); changing its
    groups through it forgets them."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed

    from cms.roles import forget_roles_on_group_change

    m2m_changed.connect(
        forget_roles_on_group_change,
        sender=get_user_model().groups.through,
        dispatch_uid="cms.roles.forget_roles_on_group_change",
    )


def _spreadsheet_exports_never_write_formulas() -> None:
    """Wagtail's own spreadsheet exports (site history, reports, every `list_export`
    listing) write cells as they are, and a spreadsheet runs a cell such as
    `=HYPERLINK(...)` typed into a story's title. Every such export goes through
    SpreadsheetExportMixin.preprocess_field_value: defuse formulas there, for CSV and XLSX
    alike (openpyxl also turns a string starting with "=" into a formula)."""
    from wagtail.admin.views.mixins import SpreadsheetExportMixin

    from cms.exports import csv_safe

    original = SpreadsheetExportMixin.preprocess_field_value
    if getattr(original, "storyloom_safe", False):
        return

    def preprocess_field_value(self, field, value, export_format):
        return csv_safe(original(self, field, value, export_format))

    preprocess_field_value.storyloom_safe = True
    SpreadsheetExportMixin.preprocess_field_value = preprocess_field_value
