"""A chat kept on the server: its messages form a tree, and the page shows one path.

Each Message has a parent (None for the first). Appending continues the shown
path; a regenerated answer is a sibling of the earlier one (same parent, a new
job); an edited user message is a sibling of the original, and the conversation
branches from there; continuing a cut-off answer is an assistant child of that
answer. `Conversation.leaf` is the message the shown path runs through: its
ancestors, then the latest child at each step below it (genhub/conversations.py).

An assistant Message is the job that produced it: its text is the job's result
once the job has succeeded (or the partial text of a cancelled one), so nothing
is copied and a retried job's answer cannot go stale. The one exception is a
conversation made from a job (genhub/conversation_from_job.py): its earlier
answers were written, not generated here, and are kept in `content`.
"""

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def owned_by(self, user: "AbstractUser | AnonymousUser") -> "ConversationQuerySet":
        """`user`'s own conversations: nobody else's, operators' included (a chat
        is private; its jobs stay visible to operators through the job list)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    visible_to = owned_by


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    # None: the default text model at the time of each turn.
    model = models.ForeignKey(
        "genhub.AIModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    system_prompt = models.TextField(blank=True)
    leaf = models.ForeignKey(
        "genhub.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.id}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    # A user message's text; an assistant message's comes from its job, except
    # one copied in from a job's history (genhub/conversation_from_job.py).
    content = models.TextField(blank=True)
    job = models.ForeignKey(
        "genhub.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # What the server did with this turn, e.g. {"dropped_turns": 2}: turns left out
    # before the job was sent, to keep the request within GenHub's own limits.
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.role} message {self.id}"

    @property
    def text(self) -> str:
        """What the message says: a user's words, or its job's answer so far as
        the database holds it (a running job's tokens stream over its socket).
        An answer whose job was deleted keeps the text it had, copied into
        `content` on deletion (genhub/job_deletion.py)."""
        if self.role == self.Role.USER or self.job_id is None:
            return self.content
        result = self.job.result if self.job is not None else None
        return str(result.get("text", "")) if isinstance(result, dict) else ""
