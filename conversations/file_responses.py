"""Customer and agent files served from our own origin: a type proven by the bytes inline, the rest as a
download, streamed without holding the file in memory under ASGI as under WSGI."""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse

from . import media_types


def stored_file_response(
    request, file, *, filename: str, content_security_policy: str, max_age: int, inline_types=None
) -> FileResponse:
    """`file` (open, binary) as an answer. Shown inline only when its first bytes prove a type that runs
    no script (`inline_types`, or `media_types`' own list); anything else is application/octet-stream
    as an attachment. nosniff and the given Content-Security-Policy go with it either way."""
    detected = media_types.detect(file.read(media_types.SIGNATURE_BYTES))
    file.seek(0)
    inline = detected.inline if inline_types is None else detected.mime in inline_types
    response = FileResponse(
        file,
        content_type=detected.mime if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = content_security_policy
    response["Cache-Control"] = f"private, max-age={max_age}"
    return stream_under_asgi(request, response)


def stream_under_asgi(request, response):
    """Under ASGI Django reads a synchronous file iterator whole into memory before sending (and
    warns): a FileResponse of a request served by ASGI is read a block at a time in a thread instead."""
    file = getattr(response, "file_to_stream", None)
    if isinstance(request, ASGIRequest) and isinstance(response, FileResponse) and file is not None:
        response.streaming_content = _blocks(file, response.block_size)
    return response


async def _blocks(file, size: int):
    read = sync_to_async(file.read, thread_sensitive=False)
    try:
        while block := await read(size):
            yield block
    finally:
        await sync_to_async(file.close, thread_sensitive=False)()
