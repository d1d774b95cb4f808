import pytest
from django.db import IntegrityError, transaction

from channels_app.models import Channel, EntryPoint, PhoneNumber
from channels_app.services import PhoneNumberError, connect_phone_number


def test_a_new_number_is_held_without_an_entry_point(db):
    number = PhoneNumber.objects.create(e164="+14155550100")

    assert number.status == PhoneNumber.Status.HELD
    assert number.entry_point is None


def test_connecting_a_held_number_creates_its_entry_point(db):
    number = PhoneNumber.objects.create(e164="+14155550100", label="Support line")

    entry_point = connect_phone_number(number, Channel.Kind.SMS)

    number.refresh_from_db()
    assert number.status == PhoneNumber.Status.CONNECTED
    assert number.entry_point == entry_point
    assert entry_point.channel.kind == Channel.Kind.SMS
    assert entry_point.kind == EntryPoint.Kind.PHONE_NUMBER
    assert entry_point.external_id == "+14155550100"


def test_a_number_cannot_be_connected_to_the_same_channel_twice(db):
    number = PhoneNumber.objects.create(e164="+14155550100")
    connect_phone_number(number, Channel.Kind.VOICE)

    with pytest.raises(PhoneNumberError, match="already connected"):
        connect_phone_number(number, Channel.Kind.VOICE)


def test_a_number_can_be_on_sms_and_voice_one_entry_point_each(db):
    number = PhoneNumber.objects.create(e164="+14155550100")
    voice = connect_phone_number(number, Channel.Kind.VOICE)

    sms = connect_phone_number(number, Channel.Kind.SMS)

    number.refresh_from_db()
    assert number.entry_point == voice  # the first one keeps the number connected
    assert {ep.channel.kind for ep in number.entry_points()} == {"voice", "sms"}
    assert number.entry_point_for(Channel.Kind.SMS) == sms
    assert sms.external_id == voice.external_id == "+14155550100"


def test_a_number_connects_to_voice_or_sms_only(db):
    number = PhoneNumber.objects.create(e164="+14155550100")

    with pytest.raises(PhoneNumberError):
        connect_phone_number(number, Channel.Kind.EMAIL)


def test_the_database_refuses_a_connected_number_without_entry_point(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(e164="+14155550101", status=PhoneNumber.Status.CONNECTED)


def test_the_database_refuses_a_number_not_in_e164(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(e164="0415 555 0100")
