from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Actions"

    def ready(self):
        from actions import demo, exports, receivers, services
        from cms.daily import register_daily_job
        from cms.exports import register_exporter
        from stories.demo import register_demo_step
        from stories.panels import register_story_panel
        from workshops.signals import proposal_accepted

        proposal_accepted.connect(
            receivers.on_proposal_accepted, dispatch_uid="actions.proposal_accepted"
        )
        register_story_panel(receivers.impact_panel)
        register_exporter("actions", exports.ActionsExporter())
        register_demo_step("actions", demo.demo_actions)
        # Every morning (manage.py daily, run hourly by `make run` and the compose scheduler).
        register_daily_job("action-reminders", services.overdue_reminders_daily)
        from cms.project_links import register_project_link

        register_project_link(receivers.you_said_we_did_link)
        from actions.erasure import actions_erasure_step
        from stories.erasure import register_erasure_step

        register_erasure_step("actions", actions_erasure_step, order=10)
