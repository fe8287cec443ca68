"""The wizard's forms: only shape and validate what the admin typed; services do the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from screenpop.install import blueprint
from screenpop.install.simulated_login import SimulatedUser
from screenpop.regions import REGION_CHOICES
from screenpop.validation import genesys_environment


class RegionForm(forms.Form):
    environment = forms.ChoiceField(
        label=_("Your Genesys Cloud region"),
        choices=REGION_CHOICES,
        help_text=_("The address you log in to Genesys Cloud at, e.g. apps.mypurecloud.ie → mypurecloud.ie."),
    )

    sign_in_as = forms.ChoiceField(
        label=_("Sign in to the simulated organisation as"),
        required=False,
        widget=forms.RadioSelect,
        help_text=_("The Genesys simulator has no login page: choose who it signs in."),
    )

    def __init__(
        self,
        *args: object,
        extra_environment: str | None = None,
        simulated_users: list[SimulatedUser] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        if extra_environment and extra_environment not in dict(REGION_CHOICES):
            self.fields["environment"].choices = [
                (extra_environment, f"{extra_environment} (simulator)"),
                *REGION_CHOICES,
            ]
        if simulated_users:
            self.fields["sign_in_as"].choices = [(user.login, user.label) for user in simulated_users]
            self.fields["sign_in_as"].initial = simulated_users[0].login
        else:
            del self.fields["sign_in_as"]

    def clean_environment(self) -> str:
        value = genesys_environment(self.cleaned_data["environment"])
        if value is None:
            raise forms.ValidationError(_("This is not a Genesys Cloud region this app serves."))
        return value


class FreshdeskForm(forms.Form):
    domain = forms.CharField(
        label=_("Freshdesk domain"),
        max_length=255,
        help_text=_("Your helpdesk's address, e.g. acme.freshdesk.com."),
        widget=forms.TextInput(attrs={"autocomplete": "url", "spellcheck": "false"}),
    )
    api_key = forms.CharField(
        label=_("Freshdesk API key"),
        required=False,
        max_length=200,
        help_text=_("Profile settings → View API key. Stored encrypted; leave empty to keep the key already saved."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class TestCallForm(forms.Form):
    phone = forms.CharField(
        label=_("Caller's number for the test"),
        max_length=40,
        initial=blueprint.TEST_CALL_PHONE,
        help_text=_("A number of one of your Freshdesk contacts shows their tickets; any number tests the path."),
    )
