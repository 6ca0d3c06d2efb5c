"""Retention: a story is erased, or anonymised where its project chose that
(ProjectPage.retention_action), once it is older than its project's retention period
(counted from when it was recorded, or, without a date, from when it was first saved).
An anonymised story is no longer about anyone and is left alone from then on. Runs as the
daily job "retention" (cms.daily)."""

from datetime import date

from django.db.models import Q

from cms.models import ProjectPage, RetentionAction
from stories.models import ErasureKind, ErasureRequest, ErasureStatus, StoryPage


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    # The 31st of a shorter month becomes its last day.
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def stories_past_retention(*, project: ProjectPage, today: date):
    cutoff = months_before(today, project.retention_months)
    pending = ErasureRequest.objects.filter(
        status__in=[ErasureStatus.QUEUED, ErasureStatus.RUNNING],
        kind__in=[ErasureKind.FULL, ErasureKind.ANONYMISE],
    ).values("story_id")
    return (
        StoryPage.objects.descendant_of(project)
        .filter(withdrawn=False, anonymised_at__isnull=True)
        .filter(
            Q(recorded_on__lt=cutoff)
            | Q(recorded_on__isnull=True, first_published_at__date__lt=cutoff)
            | Q(
                recorded_on__isnull=True,
                first_published_at__isnull=True,
                latest_revision_created_at__date__lt=cutoff,
            )
        )
        .exclude(pk__in=pending)
    )


def retention_sweep(today: date) -> str:
    from stories.services import erasure_request_create, story_anonymise_request

    erased = anonymised = 0
    for project in ProjectPage.objects.all():
        anonymise = project.retention_action == RetentionAction.ANONYMISE
        for story in stories_past_retention(project=project, today=today):
            if anonymise:
                story_anonymise_request(story=story, user=None, reason="retention")
                anonymised += 1
                continue
            consent = story.current_consent
            erasure_request_create(
                story=story,
                user=None,
                full=True,
                removed=set(consent.scopes) if consent else set(),
                reason="retention",
            )
            erased += 1
    summary = f"{erased} stories past their retention period sent for erasure"
    if anonymised:
        summary += f", {anonymised} for anonymising"
    return summary
