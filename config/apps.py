from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class SettingsAdminConfig(AdminConfig):
    """Makes the admins' Settings site the project's default admin site."""

    default_site = "config.admin_site.SettingsSite"


class ProjectConfig(AppConfig):
    """The project itself: registers its system checks (config/checks.py)."""

    name = "config"
    label = "project"
    verbose_name = "Project"

    def ready(self):
        from . import checks  # noqa: F401 (registers the checks)
