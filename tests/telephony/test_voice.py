"""The TwiML each path of an incoming call answers with."""

import xml.etree.ElementTree as ET

import pytest

from channels_app.telephony.voice import VoiceUrls, answer_call, dial_finished, voicemail_recorded, whisper

URLS = VoiceUrls(
    dial_action="https://support.example.com/webhooks/twilio/voice/?step=dial",
    whisper="https://support.example.com/webhooks/twilio/voice/whisper/?entry_point=7",
    record_action="https://support.example.com/webhooks/twilio/voice/?step=recorded",
    recording_status="https://support.example.com/webhooks/twilio/recording/",
    transcribe_callback="https://support.example.com/webhooks/twilio/recording/?transcription=1",
)
AGENTS = ["+14155550101", "+14155550102", "+14155550103"]
XML = '<?xml version="1.0" encoding="UTF-8"?>'


def parse(twiml):
    assert twiml.startswith(XML)
    root = ET.fromstring(twiml)  # noqa: S314 (our own TwiML, not untrusted input)
    assert root.tag == "Response"
    return root


def test_within_hours_simultaneous_rings_every_agent_in_one_dial():
    twiml = answer_call("Support line", True, AGENTS[:2], "simultaneous", URLS)

    assert twiml == (
        XML + "<Response>"
        '<Dial action="https://support.example.com/webhooks/twilio/voice/?step=dial&amp;next=2" method="POST"'
        ' timeout="20">'
        '<Number method="POST" url="https://support.example.com/webhooks/twilio/voice/whisper/?entry_point=7">'
        "+14155550101</Number>"
        '<Number method="POST" url="https://support.example.com/webhooks/twilio/voice/whisper/?entry_point=7">'
        "+14155550102</Number>"
        "</Dial></Response>"
    )


def test_within_hours_in_turn_rings_the_first_agent_and_names_the_next():
    root = parse(answer_call("Support line", True, AGENTS, "in_turn", URLS, caller_id="+14155550100"))

    [dial] = root
    assert dial.tag == "Dial"
    assert dial.get("action") == "https://support.example.com/webhooks/twilio/voice/?step=dial&next=1"
    assert dial.get("callerId") == "+14155550100"
    assert [number.text for number in dial] == ["+14155550101"]
    assert dial[0].get("url") == URLS.whisper


def test_in_turn_no_answer_rings_the_next_agent():
    root = parse(dial_finished("no-answer", "Support line", AGENTS, "in_turn", 1, URLS))

    [dial] = root
    assert [number.text for number in dial] == ["+14155550102"]
    assert dial.get("action").endswith("&next=2")


@pytest.mark.parametrize("status", ["busy", "failed"])
def test_in_turn_busy_or_failed_also_moves_on(status):
    root = parse(dial_finished(status, "Support line", AGENTS, "in_turn", 2, URLS))

    assert [number.text for number in root[0]] == ["+14155550103"]


def test_in_turn_after_the_last_agent_takes_a_voicemail():
    root = parse(dial_finished("no-answer", "Support line", AGENTS, "in_turn", 3, URLS))

    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]


def test_simultaneous_no_answer_takes_a_voicemail():
    root = parse(dial_finished("no-answer", "Support line", AGENTS, "simultaneous", 3, URLS))

    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]


def test_an_answered_call_hangs_up_when_the_agent_does():
    assert (
        dial_finished("completed", "Support line", AGENTS, "in_turn", 1, URLS)
        == XML + "<Response><Hangup /></Response>"
    )


def test_outside_hours_greets_and_records_a_voicemail():
    twiml = answer_call("Support line", False, AGENTS, "simultaneous", URLS, greeting_text="We are closed.")

    assert twiml == (
        XML + "<Response><Say>We are closed.</Say>"
        '<Record action="https://support.example.com/webhooks/twilio/voice/?step=recorded" maxLength="180"'
        ' method="POST" playBeep="true" recordingStatusCallback="https://support.example.com/webhooks/twilio/recording/"'
        ' recordingStatusCallbackEvent="completed" recordingStatusCallbackMethod="POST" />'
        "<Hangup /></Response>"
    )


def test_no_agents_within_hours_takes_a_voicemail_with_the_default_greeting():
    root = parse(answer_call("Support line", True, [], "in_turn", URLS))

    assert root[0].tag == "Say"
    assert "Thank you for calling Support line" in root[0].text
    assert root[1].tag == "Record"


def test_a_recorded_greeting_is_played():
    root = parse(answer_call("Support line", False, [], "in_turn", URLS, recording_url="https://cdn.test/hello.mp3"))

    assert root[0].tag == "Play"
    assert root[0].text == "https://cdn.test/hello.mp3"


def test_voicemail_can_be_transcribed():
    root = parse(answer_call("Support line", False, [], "in_turn", URLS, transcribe=True))

    record = root[1]
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == URLS.transcribe_callback


def test_without_transcription_nothing_is_asked():
    record = parse(answer_call("Support line", False, [], "in_turn", URLS))[1]

    assert record.get("transcribe") is None


def test_whisper_tells_the_agent_the_entry_point_escaped():
    assert (
        whisper("Sales & <Support>") == XML + "<Response><Say>Call from Sales &amp; &lt;Support&gt;.</Say></Response>"
    )


def test_voicemail_recorded_hangs_up():
    assert voicemail_recorded() == XML + "<Response><Hangup /></Response>"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        answer_call("Support line", True, AGENTS, "round_robin", URLS)
