"""The account page: people create, list and revoke their own API keys, and see\ntheir use of each of their limits (genhub/quotas.py)."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from genhub import modalities, quotas
from genhub.models import ApiKey


class NewKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Empty: the key never expires."
    )
    # A callable, so the choices are read from the registry when the form is drawn.
    scopes = forms.MultipleChoiceField(
        choices=modalities.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the key may create jobs of every kind.",
    )


@never_cache
@login_required
def account_page(request: HttpRequest) -> HttpResponse:
    new_key = ""
    form = NewKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        _, new_key = ApiKey.issue(
            request.user,
            name=form.cleaned_data["name"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
            scopes=form.cleaned_data["scopes"],
        )
        form = NewKeyForm()
    # The new key goes only into this one response (sent uncached), never into the
    # session or a message, which would keep it beyond this page.
    context = {
        "form": form,
        "keys": _own_keys(request),
        "new_key": new_key,
        "now": timezone.now(),
        "usage": quotas.usage(request.user),
    }
    return render(request, "account.html", context)


@require_POST
@login_required
def revoke_key(request: HttpRequest, key_id: int) -> HttpResponse:
    # Looked up among the caller's own keys, so another user's key is a 404.
    get_object_or_404(_own_keys(request), pk=key_id).revoke()
    return redirect("account")


def _own_keys(request: HttpRequest) -> Any:
    user: Any = request.user  # a User: both views need a login
    return ApiKey.objects.filter(user=user)
