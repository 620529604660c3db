from django.apps import AppConfig


class AudiogenConfig(AppConfig):
    # The audio modality registers itself here once its runner exists (see DESIGN.md).
    name = "audiogen"
