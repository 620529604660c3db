from django.apps import AppConfig


class GenhubConfig(AppConfig):
    name = "genhub"
    verbose_name = "GenHub"
    default_auto_field = "django.db.models.BigAutoField"
