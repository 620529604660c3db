from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    name = "imagegen"
    verbose_name = "Image generation"

    def ready(self) -> None:
        from genhub.modalities import Modality, register
        from imagegen.params import ImageParams

        register(
            Modality(
                name="image",
                params_schema=ImageParams,
                runner="imagegen.runner.run",
                router="imagegen.api.router",
                api_prefix="/images",
                bootstrap="imagegen.bootstrap.register_default",
                bootstrap_tiny="imagegen.bootstrap.register_tiny",
            )
        )
