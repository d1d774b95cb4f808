"""Static files under ASGI (uvicorn serves the app): streamed in blocks, not read whole with Django's warning."""

import asyncio
from pathlib import Path

import pytest
from django.conf import settings
from django.test import AsyncClient, Client


@pytest.mark.django_db
def test_a_static_file_streams_under_asgi_and_is_whole(recwarn):
    expected = (Path(settings.BASE_DIR) / "static" / "app.css").read_bytes()

    async def fetch():
        response = await AsyncClient().get("/static/app.css")
        return response, b"".join([block async for block in response.streaming_content])

    response, body = asyncio.run(fetch())

    assert response.status_code == 200 and response.is_async
    assert body == expected
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]


@pytest.mark.django_db
def test_under_wsgi_it_is_served_as_before():
    response = Client().get("/static/app.css")

    assert response.status_code == 200 and not response.is_async
    assert b"".join(response.streaming_content) == (Path(settings.BASE_DIR) / "static" / "app.css").read_bytes()
