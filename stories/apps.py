from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "stories"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cms.audit import register_sensitive_action
        from cms.exports import register_exporter
        from stories.erasure import register_erasure_step, stories_erasure_step
        from stories.exports import StoriesExporter

        register_exporter("stories", StoriesExporter())
        register_sensitive_action("storyloom.media.view", "storyloom.consent.evidence_view")
        from cms.daily import register_daily_job
        from stories.retention import retention_sweep

        register_daily_job("retention", retention_sweep)
        from stories.sweeper import sweep_daily

        register_daily_job("orphan-sweep", sweep_daily)
        from stories.resumable import expire_daily

        # Named to run before the orphan sweep, which would otherwise find their files first.
        register_daily_job("expired-uploads", expire_daily)
        # Last: it deletes the story itself, after every app has removed what it made.
        register_erasure_step("stories", stories_erasure_step, order=90)
