"""API keys this process checked lately, kept for GENHUB_API_KEY_CACHE_SECONDS.

A status poll used to spend three of its five queries on who is calling: the
key's row with its user, then the user's permissions and their groups'. A client
polls with the same key many times a second, so each process keeps the key's
row, its user and the user's permissions for a few seconds.

How promptly a change takes effect:
- revoking a key (`ApiKey.revoke`, the account page, the admin), saving or
  deleting a key, a user, a group, or changing whose groups or permissions are
  whose: at once in the process that made the change (the signals below empty
  it), and within GENHUB_API_KEY_CACHE_SECONDS in every other process;
- a key passing its `expires_at`: at once, checked on every use;
- any other write to those rows (a queryset `update()`, SQL): within the bound.

Only keys that passed are kept: a wrong key is checked against the database
every time. Each request gets its own copy of the key and the user, so
nothing one request sets on them reaches another.
"""

import copy
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

if TYPE_CHECKING:
    from genhub.models import ApiKey

# Enough for every key in use on a large instance; past it the cache starts over.
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[float, "ApiKey"]] = {}
_lock = threading.Lock()


def get(digest: str) -> "ApiKey | None":
    """A copy of the active key with this digest, when checked within the bound."""
    entry = _entries.get(digest)
    if entry is None:
        return None
    checked_at, row = entry
    if time.monotonic() - checked_at > settings.GENHUB_API_KEY_CACHE_SECONDS:
        _entries.pop(digest, None)
        return None
    if row.expires_at is not None and row.expires_at <= timezone.now():
        _entries.pop(digest, None)
        return None
    key = copy.copy(row)
    key.user = copy.copy(row.user)
    return key


def put(digest: str, row: "ApiKey") -> None:
    """Keep `row` (an active key, with its user) for the bound; its user's
    permissions are read now, once, and kept with it."""
    if settings.GENHUB_API_KEY_CACHE_SECONDS <= 0:
        return
    row.user.get_all_permissions()  # fills the user's permission caches (ModelBackend)
    kept = copy.copy(row)
    kept.user = copy.copy(row.user)
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (time.monotonic(), kept)


def touched(digest: str, when: Any) -> None:
    """The key was used at `when` and so recorded: the kept row says so too, so
    the next write waits its minute."""
    entry = _entries.get(digest)
    if entry is not None:
        entry[1].last_used_at = when


def clear(**_: Any) -> None:
    """Forget every key (a signal receiver, too)."""
    with _lock:
        _entries.clear()


# Changes that can take a key or a permission away; each is rare, so any of them
# empties the whole cache. Lazy "app.Model" senders: this module is imported
# while the models load.
_SAVED_OR_DELETED = ["genhub.ApiKey", settings.AUTH_USER_MODEL, "auth.Group"]
for _sender in _SAVED_OR_DELETED:
    post_save.connect(clear, sender=_sender, weak=False)
    post_delete.connect(clear, sender=_sender, weak=False)
for _through in ["auth.User_groups", "auth.User_user_permissions", "auth.Group_permissions"]:
    m2m_changed.connect(clear, sender=_through, weak=False)
