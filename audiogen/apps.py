from django.apps import AppConfig


class AudiogenConfig(AppConfig):
    name = "audiogen"
    verbose_name = "Audio generation"

    def ready(self) -> None:
        from audiogen import api, bootstrap, views
        from audiogen.params import MODEL_OPTIONS, AudioParams, model_limits
        from genhub.modalities import Modality, register

        register(
            Modality(
                name="audio",
                label="Audio",
                summary="Make music with MusicGen, from a prompt and, optionally, a melody.",
                params_schema=AudioParams,
                runner="audiogen.runner.run",
                model_options=MODEL_OPTIONS,
                source_types=frozenset({"hub", "local"}),
                test_params={"prompt": "a short drum beat", "duration": 1.0},
                router=api.router,
                api_prefix="/audio",
                page=views.audio_page,
                page_path="audio/",
                page_name="audio",
                result_template="audiogen/result.html",
                field_limits=model_limits,
                register_default=bootstrap.register_default,
                register_tiny=bootstrap.register_tiny,
            )
        )
