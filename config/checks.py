"""The project's own system checks: settings that pass Django's checks but break or expose production."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, Warning, register
from django.core.files.storage import storages


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs, **kwargs):
    """Manifest storage without `collectstatic` makes every page that links a static file a 500."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    manifest = Path(settings.STATIC_ROOT) / storage.manifest_name
    if manifest.is_file():
        return []
    return [
        Error(
            f"Static files are not collected: {manifest} is missing, so every page would answer 500.",
            hint="Run `python manage.py collectstatic --noinput` before starting the app (every deploy).",
            id="support.E001",
        )
    ]


@register()
def sandbox_with_debug_off(app_configs, **kwargs):
    """The sandbox plays Facebook Login and the Graph API: a demo server at most, never a real installation."""
    if settings.META_SANDBOX and not settings.DEBUG:
        return [
            Warning(
                "META_SANDBOX is on with DEBUG off: this installation serves a fake Facebook Login, "
                "Graph API and customer simulator at /sandbox/meta/.",
                hint="Fine for a demo server; a real installation sets META_SANDBOX=false and Meta credentials.",
                id="support.W002",
            )
        ]
    return []


@register(deploy=True)
def sandbox_in_production(app_configs, **kwargs):
    if settings.META_SANDBOX:
        return [
            Error(
                "META_SANDBOX is on: a production installation must not serve the fake Facebook Login, "
                "Graph API and customer simulator.",
                hint="Set META_SANDBOX=false (and META_SANDBOX_FORCE=false) and your Meta app's credentials.",
                id="support.E002",
            )
        ]
    return []
