from django.http import Http404
from wagtail.admin.views.reports.audit_logging import LogEntriesView

from cms.audit import sensitive_actions
from cms.roles import user_is_steward


class SensitiveAccessView(LogEntriesView):
    """Who opened an original recording, an unredacted transcript or an evidence file, and
    when: the site history limited to those actions, for data stewards only (with the
    report's CSV and spreadsheet export)."""

    page_title = "Sensitive access"
    header_icon = "view"
    index_url_name = "storyloom_sensitive_access"
    index_results_url_name = "storyloom_sensitive_access_results"

    def dispatch(self, request, *args, **kwargs):
        if not user_is_steward(request.user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).filter(action__in=sensitive_actions())

    def get_filename(self):
        return "sensitive-access-" + super().get_filename().removeprefix("audit-log-")
