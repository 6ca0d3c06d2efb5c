from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "stories"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cms.exports import register_exporter
        from stories.exports import StoriesExporter

        register_exporter("stories", StoriesExporter())
