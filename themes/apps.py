from django.apps import AppConfig


class ThemesConfig(AppConfig):
    name = "themes"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Themes"

    def ready(self):
        from cms.exports import register_exporter
        from themes import exports, receivers
        from transcription.signals import transcript_ready

        transcript_ready.connect(
            receivers.on_transcript_ready, dispatch_uid="themes.transcript_ready"
        )
        register_exporter("themes", exports.ThemesExporter())
