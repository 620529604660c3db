from genhub.models.aimodel import AIModel
from genhub.models.apikey import ApiKey
from genhub.models.artifact import Artifact
from genhub.models.conversation import Conversation, Message
from genhub.models.job import Job, JobKind, JobStatus
from genhub.models.usage_policy import UsagePolicy
from genhub.models.worker import Worker, WorkerState

__all__ = [
    "AIModel",
    "ApiKey",
    "Artifact",
    "Conversation",
    "Job",
    "JobKind",
    "JobStatus",
    "Message",
    "UsagePolicy",
    "Worker",
    "WorkerState",
]
