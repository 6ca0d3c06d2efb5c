from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from transcription import selectors


@never_cache
@require_safe
def progress(request, story_id):
    """A story's transcription progress, as JSON, for the page's polling (404 for anyone
    who may not see the story)."""
    return JsonResponse(selectors.progress_for_user(user=request.user, story_id=story_id))
