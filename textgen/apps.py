from django.apps import AppConfig


class TextgenConfig(AppConfig):
    name = "textgen"
    verbose_name = "Text generation"

    def ready(self) -> None:
        from genhub.modalities import Modality, register
        from textgen.params import TextParams

        register(
            Modality(
                name="text",
                params_schema=TextParams,
                runner="textgen.runner.run",
                router="textgen.api.router",
                api_prefix="/text",
                bootstrap="textgen.bootstrap.register_default",
                bootstrap_tiny="textgen.bootstrap.register_tiny",
            )
        )
