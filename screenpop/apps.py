from django.apps import AppConfig


class ScreenpopConfig(AppConfig):
    name = "screenpop"
    verbose_name = "Screen pops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from screenpop.webhook import callers  # noqa: PLC0415 (it reads the models: importable once the apps are)

        callers.connect_signals()
