from django.contrib.admin.apps import AdminConfig


class SettingsAdminConfig(AdminConfig):
    """Makes the admins' Settings site the project's default admin site."""

    default_site = "config.admin_site.SettingsSite"
