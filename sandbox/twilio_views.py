"""The customer simulator's SMS and Call tab: text a connected number, call it, see what the app sent back."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from channels_app.telephony.numbers import format_number

from . import twilio_calls
from .models import SandboxSms, SandboxTwilioNumber, SandboxTwilioSettings

CUSTOMERS = [("+14155550142", "Maya Lindqvist"), ("+14155550143", "Tom Okafor")]


def _context(request):
    numbers = list(SandboxTwilioNumber.objects.exclude(sms_url="").order_by("e164"))
    chosen = request.GET.get("number") or request.POST.get("number") or (numbers[0].e164 if numbers else "")
    number = next((n for n in numbers if n.e164 == chosen), None)
    customer = request.GET.get("customer") or request.POST.get("customer") or CUSTOMERS[0][0]
    thread = []
    if number is not None:
        for sms in SandboxSms.objects.filter(
            from_number__in=[customer, number.e164], to_number__in=[customer, number.e164]
        ):
            thread.append({"from": "customer" if sms.direction == "inbound" else "business", "sms": sms})
    return {
        "numbers": [{"e164": n.e164, "shown": format_number(n.e164)} for n in numbers],
        "number": number,
        "number_shown": format_number(number.e164) if number else "",
        "customers": [{"e164": e164, "name": name, "shown": format_number(e164)} for e164, name in CUSTOMERS],
        "customer": customer,
        "thread": thread,
        "failures": SandboxTwilioSettings.current(),
        "query": urlencode({"number": chosen, "customer": customer}),
    }


@login_required
def phone(request):
    context = _context(request)
    template = "sandbox/sms_thread.html" if request.headers.get("HX-Request") else "sandbox/phone.html"
    return render(request, template, context)


@login_required
@require_POST
def phone_action(request):
    context = _context(request)
    number, customer, action = context["number"], context["customer"], request.POST.get("action")
    back = redirect(f"{request.path.rsplit('act/', 1)[0]}?{context['query']}")
    if action in ("undelivered", "suspended"):
        failures = context["failures"]
        setattr(failures, action, not getattr(failures, action))
        failures.save()
        return back
    if number is None:
        messages.error(request, "No number is connected yet: buy one in Settings › Phone numbers and connect it.")
        return back
    if action == "sms":
        text = request.POST.get("text", "").strip()
        if text:
            sms = twilio_calls.send_sms(number, customer, text)
            if sms.status != "received":
                messages.error(request, f"The app {sms.status} the text.")
    elif action == "call":
        if not number.voice_url:
            messages.error(request, "The number has no voice URL.")
        else:
            for line in twilio_calls.place_call(number, customer):
                messages.info(request, line)
    return back
