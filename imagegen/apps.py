from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    # The image modality registers itself here once its runner exists (see DESIGN.md).
    name = "imagegen"
