"""Every page carries a Content-Security-Policy that allows no inline or foreign script."""

import re
from pathlib import Path

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/accounts/login/", "/inbox/", "/settings/"])
def test_pages_carry_the_policy(client, path):
    client.force_login(factories.make_admin())

    response = client.get(path, follow=True)

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"][:2] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


def test_the_sign_in_page_has_the_policy_for_anonymous_visitors(client):
    response = client.get("/accounts/login/")

    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_templates_have_no_inline_script_style_or_handlers():
    # The policy forbids these; one slipping in would silently break the page.
    templates = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    assert templates
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    offending = [
        str(path.relative_to(ROOT))
        for path in templates
        if inline_script.search(text := path.read_text())
        or re.search(r"\sstyle=", text)
        or re.search(r"\son[a-z]+=", text)
        or "hx-on" in text
        or re.search(r"hx-trigger=\"[^\"]*\[", text)
    ]

    assert offending == []
