"""TwiML for incoming calls: ring the agents, or take a voicemail.

Pure functions from plain values to TwiML text, so every path is tested without
HTTP. Within business hours with agents to ring, the call rings their phones,
all at once ("simultaneous") or one after the other ("in_turn"), and each agent
first hears which Entry Point the call came in on (the whisper). Outside hours,
with nobody to ring, or when nobody answers, the caller hears the greeting and
can leave a voicemail, which Twilio records and posts to the recording webhook.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from twilio.twiml.voice_response import Dial, VoiceResponse

SIMULTANEOUS = "simultaneous"
IN_TURN = "in_turn"
MODES = (SIMULTANEOUS, IN_TURN)

RING_SECONDS = 20
VOICEMAIL_MAX_SECONDS = 180
# DialCallStatus values that mean nobody talked to the caller.
NOT_ANSWERED = ("no-answer", "busy", "failed", "canceled")


@dataclass(frozen=True)
class VoiceUrls:
    """Our webhook URLs that the TwiML points Twilio at (absolute, as Twilio signs them)."""

    dial_action: str  # asked when a <Dial> ends: try the next agent, or voicemail
    whisper: str  # TwiML played to the agent before the call is connected
    record_action: str  # asked when the voicemail ends: hang up
    recording_status: str  # the recording is ready
    transcribe_callback: str = ""  # the transcription is ready (when transcribing)


def answer_call(
    entry_point_name: str,
    within_hours: bool,
    agent_numbers: list[str],
    mode: str,
    urls: VoiceUrls,
    greeting_text: str = "",
    recording_url: str = "",
    transcribe: bool = False,
    caller_id: str = "",
) -> str:
    """The TwiML that answers a new incoming call."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if within_hours and agent_numbers:
        return str(_ring(agent_numbers, mode, 0, urls, caller_id))
    return voicemail(entry_point_name, urls, greeting_text, recording_url, transcribe)


def dial_finished(
    dial_call_status: str,
    entry_point_name: str,
    agent_numbers: list[str],
    mode: str,
    next_agent: int,
    urls: VoiceUrls,
    greeting_text: str = "",
    recording_url: str = "",
    transcribe: bool = False,
    caller_id: str = "",
) -> str:
    """The TwiML for a <Dial>'s action: the call is over, or ring the next agent, or voicemail.

    `next_agent` is the index (in agent_numbers) of the agent to ring next when
    ringing in turn; the dial action URL carries it."""
    if dial_call_status not in NOT_ANSWERED:
        response = VoiceResponse()
        response.hangup()
        return str(response)
    if mode == IN_TURN and 0 <= next_agent < len(agent_numbers):
        return str(_ring(agent_numbers, mode, next_agent, urls, caller_id))
    return voicemail(entry_point_name, urls, greeting_text, recording_url, transcribe)


def voicemail(
    entry_point_name: str, urls: VoiceUrls, greeting_text: str = "", recording_url: str = "", transcribe: bool = False
) -> str:
    """The greeting (recorded, or read out), then a voicemail recording."""
    response = VoiceResponse()
    if recording_url:
        response.play(recording_url)
    else:
        response.say(greeting_text or default_greeting(entry_point_name))
    record = {
        "action": urls.record_action,
        "method": "POST",
        "max_length": VOICEMAIL_MAX_SECONDS,
        "play_beep": True,
        "recording_status_callback": urls.recording_status,
        "recording_status_callback_method": "POST",
        "recording_status_callback_event": "completed",
    }
    if transcribe:
        record["transcribe"] = True
        if urls.transcribe_callback:
            record["transcribe_callback"] = urls.transcribe_callback
    response.record(**record)
    # Reached only when the caller records nothing (Twilio skips the action then).
    response.hangup()
    return str(response)


def voicemail_recorded() -> str:
    """The <Record> action: the message is taken, end the call."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def whisper(entry_point_name: str) -> str:
    """What the agent hears on picking up, before the caller is connected."""
    response = VoiceResponse()
    response.say(f"Call from {entry_point_name}.")
    return str(response)


def default_greeting(entry_point_name: str) -> str:
    return (
        f"Thank you for calling {entry_point_name}. Nobody can take your call right now. "
        "Please leave a message after the tone, and we will get back to you."
    )


def _ring(agent_numbers: list[str], mode: str, first: int, urls: VoiceUrls, caller_id: str) -> VoiceResponse:
    if mode == SIMULTANEOUS:
        ringing, after = agent_numbers, len(agent_numbers)
    else:
        ringing, after = [agent_numbers[first]], first + 1
    options = {"action": with_query(urls.dial_action, next=after), "method": "POST", "timeout": RING_SECONDS}
    if caller_id:
        options["caller_id"] = caller_id
    dial = Dial(**options)
    for number in ringing:
        dial.number(number, url=urls.whisper, method="POST")
    response = VoiceResponse()
    response.append(dial)
    return response


def with_query(url: str, **params) -> str:
    """The URL with these query parameters added (replacing ones of the same name)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in params]
    query += [(key, str(value)) for key, value in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def bridge(customer_number: str, caller_id: str) -> str:
    """Click-to-call: the agent picked up their phone; now ring the customer and connect them."""
    response = VoiceResponse()
    response.say("Connecting you to the customer.")
    dial = Dial(caller_id=caller_id, timeout=RING_SECONDS)
    dial.number(customer_number)
    response.append(dial)
    return str(response)
