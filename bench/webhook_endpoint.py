"""Benchmark the Meta webhook endpoint against a bare "verify signature + insert row" view.

Both views get the same signed delivery through Django's RequestFactory, in
alternating rounds so that load from other processes hits both alike, on a
throw-away PostgreSQL database and a real Redis broker. Prints both throughputs
and their ratio (the goal is at least 0.9).

    CELERY_BROKER_URL=redis://127.0.0.1:6379/1 python bench/webhook_endpoint.py [--rounds 20] [--per-round 200]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import apply_environment, environment, manage, recreate_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--database", default="bench_webhooks")
    args = parser.parse_args()

    env = environment(DATABASE_URL=recreate_database(args.database))
    manage(env, "migrate", "--no-input")
    apply_environment(env)

    import django

    django.setup()

    from django.conf import settings
    from django.http import HttpResponse, HttpResponseForbidden
    from django.test import RequestFactory

    from channels_app.dispatch import dispatcher
    from channels_app.meta.signature import sign, signature_is_valid
    from channels_app.models import WebhookEvent
    from channels_app.views import meta_webhook

    def bare_view(request):
        body = request.body
        if not signature_is_valid(body, request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET):
            return HttpResponseForbidden()
        WebhookEvent.objects.create(object="instagram", body=body.decode())
        return HttpResponse("OK")

    body = (Path(__file__).resolve().parent.parent / "tests/fixtures/meta/text_message.json").read_bytes()
    signature = sign(body, settings.META_APP_SECRET)
    factory = RequestFactory()

    def run(view, count):
        started = time.perf_counter()
        for _ in range(count):
            request = factory.post(
                "/webhooks/meta/", data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
            )
            assert view(request).status_code == 200
        return time.perf_counter() - started

    run(bare_view, 100), run(meta_webhook, 100)  # warm up connections
    bare = ours = 0.0
    for _ in range(args.rounds):
        bare += run(bare_view, args.per_round)
        ours += run(meta_webhook, args.per_round)
    dispatcher.wait_until_idle()
    total = args.rounds * args.per_round
    print(f"bare view:        {total / bare:7.0f} requests/s")
    print(f"webhook endpoint: {total / ours:7.0f} requests/s")
    print(f"ratio:            {bare / ours:7.2f}")


if __name__ == "__main__":
    main()
