"""GET /workers: the processes that run jobs, for staff."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from genhub.api.auth import caller
from genhub.api.schemas import ErrorOut, WorkerOut, worker_out
from genhub.models import Worker

router = Router(tags=["workers"])


@router.get("", response={200: list[WorkerOut], 403: ErrorOut}, url_name="worker_list")
def list_workers(request: HttpRequest) -> list[dict[str, Any]]:
    """Live workers, and those gone within the last hour, newest first."""
    # Hostnames, pids and what others are running: for whoever runs the service.
    if not caller(request).is_staff:
        raise HttpError(403, "Only staff may see the workers.")
    return [worker_out(w) for w in Worker.objects.recent().select_related("job")]
