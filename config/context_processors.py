from django.conf import settings


def product(request):
    return {"META_SANDBOX": settings.META_SANDBOX}
