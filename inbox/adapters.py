from allauth.account.adapter import DefaultAccountAdapter


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Admins create users in Settings; nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False
