from django.apps import AppConfig

from screenpop import logging as screenpop_logging


class ScreenpopConfig(AppConfig):
    name = "screenpop"
    verbose_name = "Screen pops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from screenpop.webhook import callers  # noqa: PLC0415 (it reads the models: importable once the apps are)

        callers.connect_signals()
        # Handlers configured before Django's LOGGING or outside it (a server's, a library's) redact too.
        screenpop_logging.install_everywhere()
