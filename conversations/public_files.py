"""Our outgoing files at signed, expiring links, for providers that fetch attachments by URL.

Meta's Send API (Instagram, Messenger, WhatsApp) and Twilio's MMS download the
file from a URL we give them; the link names one file an agent sent and stops
working after PUBLIC_FILE_URL_SECONDS. Customers' files are never served here.
"""

from django.http import Http404
from django.views.decorators.http import require_GET

from .attachments import attachment_for_token
from .file_responses import stored_file_response

FILE_CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'"


@require_GET
def public_file(request, token):
    attachment = attachment_for_token(token)
    if attachment is None:
        raise Http404
    return stored_file_response(
        request,
        attachment.file.open("rb"),
        filename=attachment.filename or attachment.file.name.rsplit("/", 1)[-1],
        content_security_policy=FILE_CONTENT_SECURITY_POLICY,
        max_age=300,
    )
