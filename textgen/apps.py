from django.apps import AppConfig


class TextgenConfig(AppConfig):
    name = "textgen"
    verbose_name = "Text generation"

    def ready(self) -> None:
        from genhub.modalities import Modality, register
        from genhub.models.aimodel import ENGINE_OPTIONS, TEXT_OPTIONS
        from textgen import api, bootstrap, views
        from textgen.params import TextParams

        register(
            Modality(
                name="text",
                label="Text",
                summary="Chat with a language model; the answer streams as it is written.",
                params_schema=TextParams,
                runner="textgen.runner.run",
                # Engine models: the engine's model name, and where its key is; models
                # run here: compile (a static KV cache, compiled on GPUs).
                model_options=ENGINE_OPTIONS | TEXT_OPTIONS,
                # A GGUF file is dequantised into a model folder (textgen/gguf.py); an
                # engine is streamed from over HTTP (textgen/engine.py).
                source_types=frozenset({"hub", "local", "gguf", "engine"}),
                test_params={"prompt": "Hello", "max_new_tokens": 8},
                router=api.router,
                api_prefix="/text",
                page=views.text_page,
                page_path="text/",
                page_name="text",
                result_template="textgen/result.html",
                field_limits=lambda options: {},
                register_default=bootstrap.register_default,
                register_tiny=bootstrap.register_tiny,
            )
        )
