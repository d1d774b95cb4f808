from django.contrib.auth.forms import UserCreationForm

from .models import User


class UserAddForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role"]
