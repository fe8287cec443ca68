from django.apps import AppConfig


class ScreenpopConfig(AppConfig):
    name = "screenpop"
    verbose_name = "Screen pops"
    default_auto_field = "django.db.models.BigAutoField"
