"""CPU per request of the webhook endpoint against the minimal durable view, in one process, no server.

    .venv/bin/python bench/webhook_cpu.py [--rounds 8] [--requests 500] [--database bench_ack_cpu]
        [--redis redis://127.0.0.1:6379/5]

Calls the app's WSGI handler (all middleware, bench.urls) directly with signed, real-shaped
Instagram webhooks on PostgreSQL, --rounds rounds of --requests per view, the order
alternating each round (AB, BA, ...). CPU = time.process_time() of this process (every
thread), so waiting for PostgreSQL's commit does not count and other programs on the
machine disturb the figure far less than bench/webhook_ack.py's throughput. Prints
the median and range of microseconds per request per view and of the per-round ratio.
The drainer that hands the endpoint's rows over runs in the Celery workers and is not
counted here (bench/webhook_ack.py runs it beside the server and reports its CPU).
"""

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import ROOT, apply_environment, environment, manage, recreate_database  # noqa: E402

SECRET = "bench-app-secret"
VIEWS = [("minimal durable view", "/bench/durable/"), ("webhook endpoint", "/webhooks/meta/")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="rounds; each runs both views")
    parser.add_argument("--requests", type=int, default=500, help="requests per view per round")
    parser.add_argument("--database", default="bench_ack_cpu", help="PostgreSQL database, dropped and created")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    env = environment(
        DATABASE_URL=recreate_database(args.database),
        CELERY_BROKER_URL=args.redis,
        META_APP_SECRET=SECRET,
        ROOT_URLCONF="bench.urls",
        CONN_MAX_AGE=600,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from channels_app.meta.signature import sign

    app = get_wsgi_application()
    body = json.dumps(json.loads((ROOT / "tests/fixtures/meta/text_message.json").read_text())).encode()
    signature = sign(body, SECRET)

    def post(path):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_HUB_SIGNATURE_256": signature,
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        status = []
        answer = app(environ, lambda line, headers, *_: status.append(line))
        b"".join(answer)
        answer.close()
        if not status[0].startswith("200"):
            sys.exit(f"{path} answered {status[0]}")

    for _, path in VIEWS:  # warm-up: imports, connection, caches
        for _ in range(100):
            post(path)
    micros = {name: [] for name, _ in VIEWS}
    ratios = []
    for round_number in range(args.rounds):
        order = VIEWS if round_number % 2 == 0 else VIEWS[::-1]
        for name, path in order:
            started = time.process_time()
            for _ in range(args.requests):
                post(path)
            micros[name].append((time.process_time() - started) / args.requests * 1e6)
        ratios.append(micros["webhook endpoint"][-1] / micros["minimal durable view"][-1])

    def spread(values, fmt):
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    print(f"in-process WSGI, {args.rounds} rounds x {args.requests} requests per view, order alternating")
    for name, _ in VIEWS:
        print(f"{name:<24}{spread(micros[name], '{:.0f}'):>22} us CPU per request")
    print(f"ratio endpoint / durable, per round: {spread(ratios, '{:.2f}')}")


if __name__ == "__main__":
    main()
