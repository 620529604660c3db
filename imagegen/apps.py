from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    name = "imagegen"
    verbose_name = "Image generation"

    def ready(self) -> None:
        from genhub.modalities import Batching, Modality, register
        from imagegen import api, bootstrap, views
        from imagegen.params import MODEL_OPTIONS, ImageParams, batch_key, batch_size, model_limits

        register(
            Modality(
                name="image",
                label="Image",
                summary="Make images with Stable Diffusion, watching them denoise.",
                params_schema=ImageParams,
                runner="imagegen.runner.run",
                model_options=MODEL_OPTIONS,
                # A single .safetensors file is the A1111/Civitai checkpoint layout.
                source_types=frozenset({"hub", "local", "safetensors"}),
                test_params={"prompt": "a red circle", "steps": 2},
                router=api.router,
                api_prefix="/images",
                page=views.image_page,
                page_path="images/",
                page_name="images",
                result_template="imagegen/result.html",
                field_limits=model_limits,
                register_default=bootstrap.register_default,
                register_tiny=bootstrap.register_tiny,
                batching=Batching(batch_key, batch_size, "imagegen.runner.run_batch"),
            )
        )
