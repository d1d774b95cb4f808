from .accounts import accounts_needing_attention


def account_banners(request):
    """Instagram accounts that need an admin, for the banner on Settings pages."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_settings_admin and request.path.startswith("/settings/")):
        return {}
    return {"accounts_needing_attention": list(accounts_needing_attention())}
