"""Admin building blocks shared by the apps."""

from wagtail.admin.viewsets.model import ModelViewSet

READ_ONLY_HIDDEN_VIEWS = {"add", "edit", "delete", "copy", "history", "history_results", "usage"}


def without_views(urlpatterns, names):
    return [pattern for pattern in urlpatterns if pattern.name not in names]


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
