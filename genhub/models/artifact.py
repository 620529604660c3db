"""A file a job made (an image, an audio clip) or was given (an init image, a
melody clip), with the record of how it was made.

Files live in media storage under the job's id; they are never served from a
public URL, only through the API to the job's owner or an operator
(see genhub/api/artifacts.py).
"""

import uuid
from typing import TYPE_CHECKING

from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from genhub.models.job import Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


class ArtifactQuerySet(models.QuerySet["Artifact"]):
    def visible_to(self, user: "AbstractUser | AnonymousUser") -> "ArtifactQuerySet":
        return self.filter(job__in=Job.objects.visible_to(user))

    def outputs(self) -> "ArtifactQuerySet":
        return self.filter(role=Artifact.Role.OUTPUT)


def artifact_path(artifact: "Artifact", filename: str) -> str:
    return f"jobs/{artifact.job_id}/{filename}"


class Artifact(models.Model):
    class Role(models.TextChoices):
        OUTPUT = "output", "Made by the job"
        INPUT = "input", "Given with the request"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="artifacts")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OUTPUT)
    field = models.CharField(
        max_length=50, blank=True, help_text="For inputs: the request field it came from."
    )
    index = models.PositiveSmallIntegerField(default=0, help_text="Position in the batch.")
    attempt = models.PositiveSmallIntegerField(
        default=0, help_text="The run of the job that made it (0 for inputs)."
    )
    file = models.FileField(upload_to=artifact_path, max_length=300)
    thumbnail = models.FileField(upload_to=artifact_path, max_length=300, blank=True)
    mime_type = models.CharField(max_length=100)
    bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    record = models.JSONField(default=dict, blank=True, help_text="How it was made, in full.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ArtifactQuerySet.as_manager()

    # What the file downloads as, set by the pages that link it (no field: it is
    # made from the job's prompt, genhub/download_names.py).
    download_name: str = ""

    class Meta:
        ordering = ["job", "role", "index"]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.index} of job {self.job_id}"

    def delete_files(self) -> None:
        # What the pages derived from the file and kept beside it: a clip's
        # waveform peaks (genhub/waveform_peaks.py). Missing is fine.
        derived = [f"{self.file.name.rsplit('.', 1)[0]}-peaks.json"] if self.file.name else []
        storage = self.file.storage
        for stored in (self.file, self.thumbnail):
            if stored:
                stored.delete(save=False)
        for name in derived:
            storage.delete(name)


@receiver(post_delete, sender=Artifact)
def _delete_files_with_the_row(sender: type, instance: Artifact, **kwargs: object) -> None:
    # A job deleted in the admin, or a user deleted with all their jobs, takes
    # its files along; only once the deletion is committed.
    transaction.on_commit(instance.delete_files)
