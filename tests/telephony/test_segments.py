import pytest

from channels_app.telephony.segments import GSM7, UCS2, Segments, segments


def test_plain_text_is_one_gsm7_segment():
    assert segments("Hello, your order has shipped.") == Segments(GSM7, 1, 30, 160)


def test_exactly_160_gsm7_characters_fit_one_segment():
    assert segments("a" * 160) == Segments(GSM7, 1, 160, 160)


def test_161_gsm7_characters_take_two_segments_of_153():
    assert segments("a" * 161) == Segments(GSM7, 2, 161, 153)


def test_306_and_307_gsm7_characters():
    assert segments("a" * 306).count == 2
    assert segments("a" * 307).count == 3


def test_euro_sign_is_gsm7_but_counts_two():
    assert segments("Price: 5€") == Segments(GSM7, 1, 10, 160)


def test_extension_characters_push_past_160():
    # 158 + one € (2 positions) = 160 fits; 159 + € = 161 does not.
    assert segments("a" * 158 + "€").count == 1
    assert segments("a" * 159 + "€") == Segments(GSM7, 2, 161, 153)


def test_an_escape_pair_is_never_split_across_segments():
    # 306 positions would fill two segments of 153 exactly, but [ would need
    # positions 153-154: it moves to segment two, and the last letter to a third.
    text = "a" * 152 + "[" + "a" * 152
    assert segments(text) == Segments(GSM7, 3, 306, 153)


@pytest.mark.parametrize("char", list("^{}\\[~]|€"))
def test_every_extension_character_counts_two(char):
    assert segments(char).characters == 2


def test_gsm7_accented_letters_stay_gsm7():
    assert segments("Müller à Ñandu, Ægir, ΔΦΓ").encoding == GSM7


def test_an_accent_outside_gsm7_makes_it_ucs2():
    assert segments("Ñandú").encoding == UCS2


def test_lowercase_c_cedilla_is_not_gsm7():
    # ç (lowercase) is not in the GSM basic set; Ç is.
    assert segments("Ça va? ça va.") == Segments(UCS2, 1, 13, 70)


def test_emoji_makes_the_text_ucs2_and_counts_two():
    assert segments("Thanks 👍") == Segments(UCS2, 1, 9, 70)


def test_70_and_71_ucs2_characters():
    assert segments("й" * 70) == Segments(UCS2, 1, 70, 70)
    assert segments("й" * 71) == Segments(UCS2, 2, 71, 67)


def test_an_emoji_is_never_split_across_segments():
    # 134 positions would fill two segments of 67, but the emoji moves whole to segment two.
    text = "й" * 66 + "😀" + "й" * 66
    assert segments(text) == Segments(UCS2, 3, 134, 67)


def test_an_emoji_at_the_end_of_one_sms():
    assert segments("й" * 68 + "😀") == Segments(UCS2, 1, 70, 70)
    assert segments("й" * 69 + "😀") == Segments(UCS2, 2, 71, 67)


def test_one_emoji_turns_a_long_gsm_text_into_many_ucs2_segments():
    assert segments("a" * 159 + "🙂").count == 3


def test_empty_text_is_no_segment():
    assert segments("") == Segments(GSM7, 0, 0, 160)


def test_newlines_are_gsm7():
    assert segments("line one\nline two\r\n").encoding == GSM7
