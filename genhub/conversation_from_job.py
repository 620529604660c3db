"""A conversation from a text job, to chat on from it ("Continue this chat" on a
job's page, POST /api/v1/conversations with `from_job`).

A job that is already a turn of one of the owner's conversations opens that
conversation at the turn's branch. Any other text job that has an answer becomes
a new conversation: its system prompt, its messages (or its prompt, as the first
user message) and its answer. Those messages are copied, not linked: they were
written, not generated here (an answer with no job, whose `content` holds it), so
deleting the conversation leaves the job and its history alone.
"""

from typing import Any

from django.db import transaction

from genhub import conversations
from genhub.errors import InvalidInput
from genhub.models import Conversation, Job, JobStatus, Message


def from_job(owner: Any, job: Job) -> tuple[Conversation, bool]:
    """The conversation to go on from `job` (one of `owner`'s), showing its answer,
    and whether it was made just now. InvalidInput("from_job") for a job that is
    not text or has no answer (queued, running, failed)."""
    turn = (
        Message.objects.filter(job=job, conversation__owner=owner)
        .select_related("conversation")
        .first()
    )
    if turn is not None:
        return conversations.show(turn.conversation, turn), False
    if job.modality != "text":
        raise InvalidInput("from_job", f"a {job.modality} job has no chat to continue")
    result = job.result if isinstance(job.result, dict) else {}
    if job.status not in (JobStatus.SUCCEEDED, JobStatus.CANCELLED) or not result.get("text"):
        raise InvalidInput("from_job", "the job has no answer to continue from (yet)")
    said = _said(job.params)
    system = said[0]["content"] if said and said[0]["role"] == "system" else ""
    history = [m for m in said if m["role"] in (Message.Role.USER, Message.Role.ASSISTANT)]
    first = next((m["content"] for m in history if m["role"] == Message.Role.USER), "")
    with transaction.atomic():
        chat = Conversation.objects.create(
            owner=owner,
            title=conversations.title_from(first) or job.prompt[:60],
            system_prompt=system,
            model=job.model if job.model.enabled else None,
        )
        parent = None
        for message in history:
            parent = Message.objects.create(
                conversation=chat, parent=parent, role=message["role"], content=message["content"]
            )
        answer = Message.objects.create(
            conversation=chat,
            parent=parent,
            role=Message.Role.ASSISTANT,
            content=str(result["text"]),
            meta={"from_job": str(job.pk), "finish_reason": result.get("finish_reason")},
        )
        conversations.show(chat, answer)
    return chat, True


def _said(params: dict[str, Any]) -> list[dict[str, str]]:
    """The job's messages, or its prompt as one user message."""
    messages = params.get("messages")
    if messages:
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    return [{"role": "user", "content": str(params.get("prompt") or "")}]
