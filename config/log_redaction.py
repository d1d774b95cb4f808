"""Secrets never reach a log line, whoever writes it.

Page access tokens travel in Graph API query strings, so any log of a URL
(urllib3's request lines at DEBUG, an exception carrying the URL, a message
that quotes a payload) would copy a token into log storage that many more
people can read than the database. Every record is redacted as it is created,
so every handler, the test suite's included, sees the redacted text.
"""

import logging
import logging.config
import re

REDACTED = "[redacted]"
REDACTED_PARAMETERS = r"access_token|input_token|fb_exchange_token|client_secret|appsecret_proof|app_secret"

SECRET_PATTERNS = [
    # In URLs and form bodies: access_token=EAAB...
    (re.compile(rf"(?i)\b(\w*(?:{REDACTED_PARAMETERS}))=[^&\s\"'#,)]+"), rf"\1={REDACTED}"),
    # In JSON and Python reprs: "access_token": "EAAB..."
    (re.compile(rf"(?i)([\"']\w*(?:{REDACTED_PARAMETERS})[\"']\s*:\s*[\"'])[^\"']+"), rf"\1{REDACTED}"),
    # In Authorization headers (WhatsApp Cloud API, Twilio).
    (re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacting_factory(make_record):
    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken format string is logging's problem, not ours)
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters reuse exc_text when it is set, so the traceback is redacted too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.redacts_secrets = True
    return factory


def install_redaction():
    """Wrap the log record factory (once) so each record's text is redacted."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(current))


def configure(logging_settings):
    """Django's LOGGING_CONFIG hook: the usual dictConfig, plus redaction for every record."""
    install_redaction()
    if logging_settings:
        logging.config.dictConfig(logging_settings)
