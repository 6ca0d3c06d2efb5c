from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "workshops"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Workshops"

    def ready(self):
        from stories.demo import register_demo_step
        from workshops.demo import demo_workshop

        register_demo_step("workshops", demo_workshop)

        from stories.erasure import register_erasure_step
        from workshops.erasure import workshops_erasure_step

        register_erasure_step("workshops", workshops_erasure_step, order=20)
