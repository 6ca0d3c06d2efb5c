from django.conf import settings
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.admin.auth import require_admin_access
from wagtail.documents import urls as wagtaildocs_urls

from actions import urls as actions_urls
from cms.auth_views import LoginView
from cms.views import PageChooserBrowseView, PageTypesUsageView
from stories import urls as stories_urls
from transcription import urls as transcription_urls

urlpatterns = [
    # Before Wagtail's own: the one login page, with the second step for those who use it.
    path("admin/login/", LoginView.as_view(), name="wagtailadmin_login"),
    path("", include(two_factor_urls)),
    # Before Wagtail's own: its page types report names pages of every project (stewards only).
    path(
        "admin/reports/page-types-usage/",
        require_admin_access(PageTypesUsageView.as_view()),
        name="storyloom_page_types_usage",
    ),
    path(
        "admin/reports/page-types-usage/results/",
        require_admin_access(PageTypesUsageView.as_view(results_only=True)),
        name="storyloom_page_types_usage_results",
    ),
    # Before Wagtail's own: the page chooser opened at a page the viewer may not see.
    path(
        "admin/choose-page/<int:parent_page_id>/",
        require_admin_access(PageChooserBrowseView.as_view()),
        name="storyloom_choose_page_child",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("", include(stories_urls)),
    path("", include(transcription_urls)),
    path("", include(actions_urls)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
