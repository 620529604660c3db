"""Download a hub model into the model store: as a job a worker runs (shown in
the admin and the job history), followed here with a progress bar; or, with
--here, in this process, with no worker (a machine with internet and no worker)."""

import time
from typing import Any

import redis
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from genhub import events
from genhub.errors import JobError
from genhub.hub_access import require_hub_or_snapshot
from genhub.hub_downloads import download_snapshot
from genhub.jobs import NoWorkerForQueue, QueueUnavailable, submit_download
from genhub.models import AIModel, Job, JobStatus

POLL_SECONDS = 0.5
BAR_WIDTH = 30


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The model's name, as in the admin.")
        parser.add_argument(
            "--here",
            action="store_true",
            help="Download in this process, without a worker or a job.",
        )
        parser.add_argument(
            "--user", help="Whose job it is (a username); the first superuser when left out."
        )

    def handle(self, *args: Any, name: str, here: bool, user: str | None, **options: Any) -> None:
        aimodel = AIModel.objects.filter(name=name).first()
        if aimodel is None:
            raise CommandError(f"No model is named '{name}'.")
        if aimodel.source_type != AIModel.SourceType.HUB:
            self.stdout.write(f"{name} is already local: nothing to download.")
            return
        if here:
            self._download_here(aimodel)
        else:
            self._follow(self._submit(aimodel, user))

    def _download_here(self, aimodel: AIModel) -> None:
        # The same quick check a worker makes: an unreachable hub fails in seconds.
        try:
            require_hub_or_snapshot(aimodel)
        except JobError as error:
            raise CommandError(str(error)) from error
        # huggingface_hub draws its own tqdm bars (on stderr).
        try:
            snapshot = download_snapshot(aimodel)
        except Exception as error:
            raise CommandError(
                f"{aimodel.name} could not be downloaded ({type(error).__name__}: {error})."
            ) from error
        self.stdout.write(
            f"Downloaded {aimodel.name} at revision {snapshot.commit}: {_mb(snapshot.bytes)} MB."
        )

    def _submit(self, aimodel: AIModel, username: str | None) -> Job:
        users = get_user_model().objects
        owner = (
            users.filter(username=username).first()
            if username
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if owner is None:
            raise CommandError(
                f"No user '{username}'."
                if username
                else "No superuser to own the job: pass --user."
            )
        try:
            return submit_download(owner, aimodel)
        except NoWorkerForQueue as error:
            raise CommandError(f"{error} Or download in this process with --here.") from error
        except QueueUnavailable as error:
            raise CommandError("The job queue (Redis) could not be reached.") from error

    def _follow(self, job: Job) -> None:
        """Poll the job's row and live state (the bytes so far) until it ends."""
        self.stdout.write(
            f"Download job {job.pk} submitted; following it (Ctrl-C stops following)."
        )
        while True:
            job.refresh_from_db()
            if job.is_terminal:
                break
            self._draw(job)
            time.sleep(POLL_SECONDS)
        self.stdout.write("")
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or f"The download was {job.status}.")
        result = job.result or {}
        self.stdout.write(
            f"Downloaded {result.get('downloaded')} at revision {result.get('revision')}: "
            f"{_mb(int(result.get('bytes') or 0))} MB."
        )

    def _draw(self, job: Job) -> None:
        if job.status == JobStatus.QUEUED:
            line = "waiting in the queue"
        else:
            state = _live_state(job)
            done, total = int(state.get("step") or 0), int(state.get("total") or 0)
            filled = BAR_WIDTH * done // total if total else 0
            line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {_mb(done)} of {_mb(total)} MB"
        self.stdout.write(f"\r{line:<70}", ending="")
        self.stdout.flush()


def _live_state(job: Job) -> dict[str, str]:
    try:
        return events.read_live_state_now(job.pk)
    except redis.RedisError:
        return {}  # the bar waits; the row still says when the job ends


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f}"
