"""Conversations: start, edit, ask (append a user message and the answer's job,
at the end or as a new branch), answer_again (regenerate), continue_answer, show
(switch the shown branch), the shown path with each message's versions, the path
as chat messages, and delete with its jobs and their files.

The tree and how later actions map onto it are described in
genhub/models/conversation.py and docs/conversations.md. The core knows nothing of
the text modality's params: `ask` is handed the function that submits the job.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from genhub.errors import InvalidInput
from genhub.jobs import JobConflict, cancel_job, resolve_model
from genhub.models import Conversation, Job, JobStatus, Message

log = logging.getLogger(__name__)

TITLE_LENGTH = 60
# The most messages one text job may carry (TextParams.messages): older turns are
# left out before the job is sent, and the answer says so.
MAX_MESSAGES = 200
# What a job is given: the history as chat messages, and the model's name (None: the default).
Submit = Callable[[list[dict[str, str]], str | None], Job]

_UNSET: Any = object()


def title_from(text: str) -> str:
    """A title from a first message: its first words, on one line, about 60 characters."""
    words = " ".join(text.split())
    if len(words) <= TITLE_LENGTH:
        return words
    cut = words[:TITLE_LENGTH].rsplit(" ", 1)[0] or words[:TITLE_LENGTH]
    return cut.rstrip(" ,.;:") + "…"


def start(
    owner: Any, *, title: str = "", system_prompt: str = "", model: str | None = None
) -> Conversation:
    """A new, empty conversation. `model` is a text model's name (None: the default
    at each turn); InvalidInput names an unknown or disabled one."""
    chosen = resolve_model("text", model) if model is not None else None
    return Conversation.objects.create(
        owner=owner, title=title.strip(), system_prompt=system_prompt, model=chosen
    )


def edit(
    conversation: Conversation,
    *,
    title: str | None = None,
    system_prompt: str | None = None,
    model: str | None = _UNSET,
) -> Conversation:
    """Rename it, change its system prompt (for the turns to come), or its model
    (a name; None for the default)."""
    if title is not None:
        conversation.title = title.strip()
    if system_prompt is not None:
        conversation.system_prompt = system_prompt
    if model is not _UNSET:
        conversation.model = resolve_model("text", model) if model is not None else None
    conversation.save()
    return conversation


def rename(conversation: Conversation, title: str) -> Conversation:
    return edit(conversation, title=title)


def search(found: QuerySet[Conversation], q: str) -> QuerySet[Conversation]:
    """The conversations of `found` whose title, or any message, holds `q` (any
    case): a user's words, or an answer's text in its job's result."""
    return found.filter(
        Q(title__icontains=q)
        | Q(messages__content__icontains=q)
        | Q(messages__job__result__text__icontains=q)
    ).distinct()


def shown_path(conversation: Conversation) -> list[Message]:
    """The messages the conversation shows, first to last: the ancestors of its
    `leaf`, then, below it, the latest child at each step (the latest branch)."""
    return [shown.message for shown in shown_with_siblings(conversation)]


@dataclass(frozen=True)
class Shown:
    """A message on the shown path, and its versions: the messages with the same
    parent and role (itself among them), oldest first. A regenerated answer, an
    edited question and a second continuation are versions of one another."""

    message: Message
    siblings: list[Message]

    @property
    def index(self) -> int:
        return self.siblings.index(self.message)


def shown_with_siblings(conversation: Conversation) -> list[Shown]:
    """shown_path, each message with its siblings, from one query."""
    messages = list(conversation.messages.select_related("job").order_by("created_at"))
    by_id: dict[Any, Message] = {message.pk: message for message in messages}
    children: dict[Any, list[Message]] = defaultdict(list)
    for message in messages:
        children[message.parent_id].append(message)
    path: list[Message] = []
    node = by_id.get(conversation.leaf_id)
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    path.reverse()
    below = path[-1].pk if path else None
    while children[below]:
        path.append(children[below][-1])
        below = path[-1].pk
    return [Shown(m, [s for s in children[m.parent_id] if s.role == m.role]) for m in path]


def lineage(message: Message) -> list[Message]:
    """`message` and its ancestors, first to last: the path that ends in it."""
    messages = message.conversation.messages.select_related("job")
    by_id: dict[Any, Message] = {m.pk: m for m in messages}
    path: list[Message] = []
    node: Message | None = by_id[message.pk]
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    return path[::-1]


def _turns(path: list[Message]) -> list[list[dict[str, str]]]:
    """The path as the model sees it, in turns (a user message and what answers
    it). An answer that has no text to give (queued, running, failed, or its job
    gone) is left out; what is left of two user messages in a row becomes one, and
    a continued answer joins the answer it continues."""
    said: list[dict[str, str]] = []
    for message in path:
        if message.role == Message.Role.ASSISTANT and not _usable(message):
            continue
        text = message.text
        if said and said[-1]["role"] == message.role:
            joiner = "\n\n" if message.role == Message.Role.USER else ""
            said[-1]["content"] += joiner + text
        else:
            said.append({"role": message.role, "content": text})
    turns: list[list[dict[str, str]]] = []
    for item in said:
        if item["role"] == Message.Role.USER or not turns:
            turns.append([])
        turns[-1].append(item)
    return turns


def _usable(answer: Message) -> bool:
    job = answer.job
    if job is None:
        return bool(answer.content)  # written, not generated (from_job copies them)
    return job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED)


def messages_for_model(
    conversation: Conversation, path: list[Message]
) -> tuple[list[dict[str, str]], int]:
    """`path` as chat messages (the system prompt first), and how many of its
    oldest turns were left out to stay within GenHub's limits on one request
    (MAX_MESSAGES, GENHUB_MAX_PROMPT_CHARS). The model's own context is the
    worker's to fit (textgen/runner.py), which has its tokenizer."""
    system = [{"role": "system", "content": conversation.system_prompt}]
    system = system if conversation.system_prompt.strip() else []
    turns = _turns(path)
    limit = settings.GENHUB_MAX_PROMPT_CHARS

    def size(kept: list[list[dict[str, str]]]) -> tuple[int, int]:
        said = [*system, *(m for turn in kept for m in turn)]
        return len(said), sum(len(m["content"]) for m in said)

    dropped = 0
    while len(turns) > 1:
        count, chars = size(turns)
        if count <= MAX_MESSAGES and chars <= limit:
            break
        turns = turns[1:]
        dropped += 1
    return [*system, *(m for turn in turns for m in turn)], dropped


# `ask`'s default place for the new message: after the shown path's last one.
AT_THE_END: Any = object()


def ask(
    conversation: Conversation,
    content: str,
    model: str | None,
    submit: Submit,
    *,
    after: Message | None = AT_THE_END,
) -> Message:
    """Append `content` as a user message and submit its answer's job with the
    history that leads to it (`submit` raises for bad input or a full quota, and
    then nothing is appended). The message follows the shown path's last one, or
    `after` (an answer; None for a new first message): a user message that is
    not the last one's follower becomes a sibling of the one it replaces, so the
    conversation branches there (an edit). Returns the assistant message, which
    is the job."""
    if after is not AT_THE_END and after is not None and after.role != Message.Role.ASSISTANT:
        raise InvalidInput(
            "parent",
            "a new message follows an answer (or null, to start again from the top); "
            "to have this message answered again, leave out `prompt`",
        )
    with transaction.atomic():
        # One turn at a time per conversation: a second waits, then follows this one.
        locked = _locked(conversation)
        if after is AT_THE_END:
            path = shown_path(locked)
        else:
            path = lineage(after) if after is not None else []
        question = Message(conversation=locked, role=Message.Role.USER, content=content)
        history, dropped = messages_for_model(locked, [*path, question])
        job = submit(history, _model_name(locked, model))
        question.parent = path[-1] if path else None
        question.save()
        answer = _answer(locked, question, job, dropped)
        if not locked.title:
            locked.title = title_from(content)
        _show(locked, answer, job)
    conversation.refresh_from_db()
    return answer


def answer_again(
    conversation: Conversation, question: Message, model: str | None, submit: Submit
) -> Message:
    """Regenerate: a new answer to `question` (a user message), sent the same
    history, beside the earlier ones (siblings); the conversation shows it."""
    if question.role != Message.Role.USER:
        raise InvalidInput(
            "parent", "to answer again, `parent` is the question (a user message) to answer"
        )
    with transaction.atomic():
        locked = _locked(conversation)
        history, dropped = messages_for_model(locked, lineage(question))
        job = submit(history, _model_name(locked, model))
        answer = _answer(locked, question, job, dropped)
        _show(locked, answer, job)
    conversation.refresh_from_db()
    return answer


def continue_answer(
    conversation: Conversation, answer: Message, model: str | None, submit: Submit
) -> Message:
    """Continue an answer that was cut off (or stopped): a job sent the history
    ending in that answer, which the model takes as the start of its own turn
    (`submit` sees a history whose last message is the assistant's). Its text is
    a child of `answer`, shown joined to it as one answer."""
    if answer.role != Message.Role.ASSISTANT or not _usable(answer) or not answer.text:
        raise InvalidInput(
            "continue_message", "only an answer that has text (it ended or was stopped) goes on"
        )
    if answer.children.filter(role=Message.Role.USER).exists():
        raise InvalidInput(
            "continue_message",
            "this answer has been replied to; only the last answer of a branch goes on",
        )
    with transaction.atomic():
        locked = _locked(conversation)
        history, dropped = messages_for_model(locked, lineage(answer))
        job = submit(history, _model_name(locked, model))
        more = Message.objects.create(
            conversation=locked,
            parent=answer,
            role=Message.Role.ASSISTANT,
            job=job,
            meta={"dropped_turns": dropped} if dropped else {},
        )
        _show(locked, more, job)
    conversation.refresh_from_db()
    return more


def show(conversation: Conversation, message: Message) -> Conversation:
    """Show the branch through `message`: its ancestors, then the latest below it."""
    conversation.leaf = message
    conversation.save(update_fields=["leaf"])
    return conversation


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _model_name(conversation: Conversation, model: str | None) -> str | None:
    return model or (conversation.model.name if conversation.model else None)


def _answer(conversation: Conversation, question: Message, job: Job, dropped: int) -> Message:
    return Message.objects.create(
        conversation=conversation,
        parent=question,
        role=Message.Role.ASSISTANT,
        job=job,
        meta={"dropped_turns": dropped} if dropped else {},
    )


def _show(conversation: Conversation, message: Message, job: Job) -> None:
    conversation.leaf = message
    conversation.model = job.model
    conversation.save()


def dropped_turns(message: Message) -> int:
    """How many of the oldest turns the answer's model did not see: left out
    before the job was sent, plus those the worker left out to fit the context."""
    result = message.job.result if message.job is not None else None
    by_worker = result.get("truncated_turns", 0) if isinstance(result, dict) else 0
    return int(message.meta.get("dropped_turns", 0)) + int(by_worker or 0)


def truncation_note(message: Message) -> str:
    """A sentence for an answer whose model saw only the latest turns; "" otherwise."""
    dropped = dropped_turns(message)
    if not dropped:
        return ""
    left_out = "The oldest turn was" if dropped == 1 else f"The {dropped} oldest turns were"
    return f"{left_out} left out: the whole conversation did not fit the model's context."


def delete(conversation: Conversation) -> int:
    """Delete the conversation, its messages and its jobs, whose files go with
    them (genhub/models/artifact.py removes an artifact's files once the deletion
    commits). A job still running is asked to stop first. Returns the jobs deleted."""
    with transaction.atomic():
        jobs = list(Job.objects.filter(messages__conversation=conversation).distinct())
        for job in jobs:
            if not job.is_terminal:
                try:
                    cancel_job(job)
                except JobConflict:
                    pass  # it ended meanwhile
        conversation.delete()
        Job.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    log.info("deleted conversation %s and %d job(s)", conversation.pk, len(jobs))
    return len(jobs)
