from django.conf import settings
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from actions import urls as actions_urls
from cms.auth_views import LoginView
from stories import urls as stories_urls
from transcription import urls as transcription_urls

urlpatterns = [
    # Before Wagtail's own: the one login page, with the second step for those who use it.
    path("admin/login/", LoginView.as_view(), name="wagtailadmin_login"),
    path("", include(two_factor_urls)),
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
