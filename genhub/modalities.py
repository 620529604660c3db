"""The modality registry. Each modality app registers itself in AppConfig.ready();
the core looks modalities up here and never imports a modality app directly."""

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class Modality:
    name: str  # "text", also the Celery queue and the Job.modality value
    params_schema: type[BaseModel]  # validates REST bodies, forms and worker input
    runner: str  # dotted path of `run(job, params, progress) -> dict`, imported by workers only
    router: str  # dotted path of the app's ninja Router
    api_prefix: str  # where the router mounts under /api/v1
    bootstrap: str  # dotted path of `register_default(model_dir, say)`
    bootstrap_tiny: str  # dotted path of `register_tiny(model_dir, say)`

    @property
    def queue(self) -> str:
        return self.name


_registry: dict[str, Modality] = {}


def register(modality: Modality) -> None:
    _registry[modality.name] = modality


def get(name: str) -> Modality:
    return _registry[name]


def all_modalities() -> list[Modality]:
    return list(_registry.values())
