import json

import pytest
from django.test import override_settings

from config.checks import static_files_collected
from tests.test_deploy_check import PRODUCTION_ENV, _manage

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_manifest_storage_without_collectstatic_is_an_error(tmp_path):
    with override_settings(STORAGES=MANIFEST_STORAGE, STATIC_ROOT=tmp_path):
        errors = static_files_collected(None)

    assert [error.id for error in errors] == ["support.E001"]
    assert "collectstatic" in errors[0].hint


def test_collected_static_files_pass(tmp_path):
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": {}, "version": "1.1"}))

    with override_settings(STORAGES=MANIFEST_STORAGE, STATIC_ROOT=tmp_path):
        assert static_files_collected(None) == []


def test_storage_without_a_manifest_needs_no_collectstatic(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path):  # the tests' plain StaticFilesStorage
        assert static_files_collected(None) == []


@pytest.mark.slow
def test_check_deploy_fails_loudly_before_collectstatic(tmp_path):
    result = _manage("check", "--deploy", env={**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "empty")})

    assert result.returncode != 0
    assert "support.E001" in result.stderr
    assert "collectstatic" in result.stderr
