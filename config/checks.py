"""The project's own system checks: settings that pass Django's checks but break or expose production."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, register
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
