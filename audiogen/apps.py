from django.apps import AppConfig


class AudiogenConfig(AppConfig):
    name = "audiogen"
    verbose_name = "Audio generation"

    def ready(self) -> None:
        from audiogen.params import AudioParams
        from genhub.modalities import Modality, register

        register(
            Modality(
                name="audio",
                params_schema=AudioParams,
                runner="audiogen.runner.run",
                router="audiogen.api.router",
                api_prefix="/audio",
                bootstrap="audiogen.bootstrap.register_default",
                bootstrap_tiny="audiogen.bootstrap.register_tiny",
            )
        )
