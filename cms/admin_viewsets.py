"""Admin building blocks shared by the apps."""

from functools import wraps

from django.contrib.admin.utils import unquote
from django.http import Http404
from django.urls import URLPattern
from wagtail.admin.viewsets.model import ModelViewSet

READ_ONLY_HIDDEN_VIEWS = {"add", "edit", "delete", "copy", "history", "history_results", "usage"}


def without_views(urlpatterns, names):
    return [pattern for pattern in urlpatterns if pattern.name not in names]


def visible_objects_only(urlpatterns, visible):
    """Every view of one object (a `pk` in its URL: inspect, edit, history, usage...) answers
    404 for an object outside `visible(user)` (a selector's queryset), before Wagtail looks
    at permissions: nobody learns that another project's record exists."""

    def guard(view):
        @wraps(view)
        def visible_only(request, *args, **kwargs):
            if "pk" in kwargs:
                try:
                    found = visible(request.user).filter(pk=unquote(str(kwargs["pk"]))).exists()
                except (ValueError, TypeError):
                    found = False
                if not found:
                    raise Http404
            return view(request, *args, **kwargs)

        return visible_only

    return [
        URLPattern(p.pattern, guard(p.callback), p.default_args, p.name)
        if isinstance(p, URLPattern) and "<" in str(p.pattern)
        else p
        for p in urlpatterns
    ]


class ReadOnlyModelViewSet(ModelViewSet):
    """A listing and an inspect view, and nothing that writes: records such as consent
    versions and transcription jobs change only through services."""

    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = []  # no form is ever shown; ModelViewSet insists on knowing

    def get_common_view_kwargs(self, **kwargs):
        hidden_urls = {
            f"{name}_url_name": None for name in ("add", "edit", "delete", "history", "usage")
        }
        return super().get_common_view_kwargs(**{**hidden_urls, **kwargs})

    def get_urlpatterns(self):
        return without_views(super().get_urlpatterns(), READ_ONLY_HIDDEN_VIEWS)
