"""Sensitive access: which audit-log actions record someone opening material a data steward
must be able to account for (an original recording, an unredacted transcript, consent or
action evidence). Each app registers its own in AppConfig.ready(); the "Sensitive access"
report (cms.views.SensitiveAccessView) lists exactly these."""

_sensitive: set[str] = set()


def register_sensitive_action(*actions: str) -> None:
    _sensitive.update(actions)


def sensitive_actions() -> frozenset[str]:
    return frozenset(_sensitive)
