from django.http import Http404
from wagtail import hooks
from wagtail.admin.views.chooser import BrowseView
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.admin.views.reports.page_types_usage import PageTypesUsageReportView
from wagtail.models import Page

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


class PageTypesUsageView(PageTypesUsageReportView):
    """Wagtail's "Page types usage" report names the most recently edited page of each type
    across every project (a draft story's title from another project): data stewards only,
    404 for anyone else. Routed in cms/urls.py in place of Wagtail's own."""

    def dispatch(self, request, *args, **kwargs):
        if not user_is_steward(request.user):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PageChooserBrowseView(BrowseView):
    """Wagtail's page chooser opened at a page shows that page's title whatever the
    construct_page_chooser_queryset hooks say (they filter its children only): the page
    itself must pass the same hooks, so another project's story or workshop answers 404.
    Routed in cms/urls.py in place of Wagtail's own."""

    def get(self, request, parent_page_id=None):
        if parent_page_id is not None:
            pages = Page.objects.filter(pk=parent_page_id)
            for hook in hooks.get_hooks("construct_page_chooser_queryset"):
                pages = hook(pages, request)
            if not pages.exists():
                raise Http404
        return super().get(request, parent_page_id)
