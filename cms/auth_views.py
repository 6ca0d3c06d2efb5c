"""The login page: django-two-factor-auth's, in place of Wagtail's, so that anyone who has
set up an authenticator app is asked for its code too. Failed logins are counted by
django-axes (AxesStandaloneBackend) whichever step they fail at."""

from two_factor.views import LoginView as TwoStepLoginView


class LoginView(TwoStepLoginView):
    template_name = "two_factor/core/login.html"
