"""Register the default model of every modality, or build tiny ones with --tiny."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from genhub import modalities


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tiny",
            action="store_true",
            help="Build tiny random-weight models offline, in seconds (tests and demos).",
        )
        parser.add_argument(
            "--modality", action="append", help="Only these modalities (repeatable)."
        )

    def handle(self, *args: Any, tiny: bool, modality: list[str] | None, **options: Any) -> None:
        model_dir = settings.GENHUB_MODEL_DIR
        model_dir.mkdir(parents=True, exist_ok=True)
        for entry in modalities.all_modalities():
            if modality and entry.name not in modality:
                continue
            register = entry.register_tiny if tiny else entry.register_default
            register(model_dir, self._say)

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
