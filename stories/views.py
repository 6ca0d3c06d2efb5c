from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_safe

from stories import selectors
from stories.http import serve_private_file


@require_safe
@login_required
def serve_recording(request, media_id):
    media = selectors.story_media_get_for_user(user=request.user, media_id=media_id)
    filename = f"story-{media.story_id}.{media.file.name.rsplit('.', 1)[-1]}"
    return serve_private_file(
        request, media.file, content_type=media.content_type, filename=filename
    )


@require_safe
@login_required
def serve_consent_evidence(request, consent_id):
    consent = selectors.consent_evidence_get_for_user(user=request.user, consent_id=consent_id)
    filename = (
        f"consent-{consent.story_id}-v{consent.version}.{consent.evidence.name.rsplit('.', 1)[-1]}"
    )
    return serve_private_file(
        request, consent.evidence, content_type=consent.evidence_content_type, filename=filename
    )
