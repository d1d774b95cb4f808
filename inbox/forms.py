import phonenumbers
from django import forms
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from .models import User


class UserAddForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role"]


def e164(text: str) -> str:
    """A phone number as typed (international, or US national) in E.164; '' stays ''."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        raise forms.ValidationError("This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise forms.ValidationError("This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class UserEditForm(UserChangeForm):
    def clean_phone_number(self):
        return e164(self.cleaned_data.get("phone_number", ""))
