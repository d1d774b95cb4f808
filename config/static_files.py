"""WhiteNoise for the static files, streamed under ASGI (uvicorn) as under WSGI."""

from whitenoise.middleware import WhiteNoiseMiddleware

from conversations.file_responses import stream_under_asgi


class StreamingWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise answers with a FileResponse over a synchronous file, which Django's ASGI handler
    would read whole before sending, with a warning for every file: it is read in blocks instead."""

    def __call__(self, request):
        return stream_under_asgi(request, super().__call__(request))
