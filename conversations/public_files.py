"""Our outgoing files at signed, expiring links, for providers that fetch attachments by URL.

Meta's Send API (Instagram, Messenger, WhatsApp) and Twilio's MMS download the
file from a URL we give them; the link names one file an agent sent and stops
working after PUBLIC_FILE_URL_SECONDS. Customers' files are never served here.
"""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from . import media_types
from .attachments import attachment_for_token

FILE_CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'"


@require_GET
def public_file(request, token):
    attachment = attachment_for_token(token)
    if attachment is None:
        raise Http404
    file = attachment.file.open("rb")
    detected = media_types.detect(file.read(media_types.SIGNATURE_BYTES))
    file.seek(0)
    response = FileResponse(
        file,
        content_type=detected.mime if detected.inline else "application/octet-stream",
        as_attachment=not detected.inline,
        filename=attachment.filename or attachment.file.name.rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "private, max-age=300"
    return response
