"""Password reset (Wagtail's, at /admin/password_reset/), rate-limited without telling anyone
whether an account exists.

Two counts, each at most STORYLOOM_PASSWORD_RESETS_PER_HOUR an hour: one e-mail address
asked for from one network address, and reset mails sent to one account (whoever asks, from
wherever). Past either, the answer is the same "check your e-mail" page as always, and no
mail is sent. A "too many tries" page would be honest, but the account count is reached only
for addresses that belong to someone, so such a page would tell a stranger that they do; the
same page for every outcome says nothing.

Counted in the cache the upload limit uses (STORYLOOM_UPLOAD_RATE_CACHE: Redis with
REDIS_URL, else files under var/), so every web process shares the counts. The address is
kept there only as a keyed hash. Plugged in through Wagtail's
WAGTAILADMIN_USER_PASSWORD_RESET_FORM setting."""

import logging
import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import caches
from django.utils.crypto import salted_hmac
from wagtail.admin.forms.auth import PasswordResetForm

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


def _allowed_per_hour() -> int:
    return int(getattr(settings, "STORYLOOM_PASSWORD_RESETS_PER_HOUR", 5))


def reset_allowed(key: str, *, now: float | None = None) -> bool:
    """Count one reset for `key` in this hour's window; whether it is within the limit. A
    counter that cannot be reached lets the reset through (logged): a broken cache must not
    lock everyone out of their account."""
    allowed = _allowed_per_hour()
    if allowed <= 0:
        return True
    now = time.time() if now is None else now
    slot = int(now // WINDOW_SECONDS)
    cache_key = f"storyloom:password-reset:{key}:{slot}"
    cache = caches[getattr(settings, "STORYLOOM_UPLOAD_RATE_CACHE", "uploads")]
    try:
        cache.add(cache_key, 0, timeout=WINDOW_SECONDS + 60)
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS + 60)
        count = 1
    except Exception:  # noqa: BLE001
        logger.warning("The password reset counter could not be reached.", exc_info=True)
        return True
    return count <= allowed


def _hashed(value: str) -> str:
    return salted_hmac(
        "storyloom.password-reset", value.casefold(), algorithm="sha256"
    ).hexdigest()[:32]


class RateLimitedPasswordResetForm(PasswordResetForm):
    def save(self, *args, request=None, **kwargs):
        address = self.cleaned_data["email"]
        ip = (get_client_ip_address(request) if request is not None else "") or "unknown"
        if not reset_allowed(f"address:{_hashed(address)}:{_hashed(ip)}"):
            logger.info("Password reset not sent: too many for one address.")
            return
        super().save(*args, request=request, **kwargs)

    def get_users(self, email):
        for user in super().get_users(email):
            if reset_allowed(f"account:{user.pk}"):
                yield user
            else:
                logger.info("Password reset not sent: too many for account %s.", user.pk)
