"""The workers' webhook drainer alone, for bench/webhook_ack.py: what production runs next to the web server.

    python -m bench._ack_drainer

Runs channels_app.meta.dispatch.Drainer (poll, claim, publish a Celery message per
batch) as a Celery worker would, without processing anything: the published tasks
wait in the run's own queue. On SIGTERM it stops and prints one JSON line:
the rows it handed over and the CPU seconds (utime + stime) this process used.
"""

import json
import os
import signal
import threading

import django

django.setup()

from channels_app.meta import dispatch  # noqa: E402

handed_over = 0
original_claim = dispatch.claim


def counting_claim(limit=dispatch.CLAIM_LIMIT):
    global handed_over
    ids = original_claim(limit)
    handed_over += len(ids)
    return ids


dispatch.claim = counting_claim  # drain_once looks it up at call time
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopping.set())
drainer = dispatch.Drainer()
drainer.start()
stopping.wait()
drainer.stop()
times = os.times()
print(json.dumps({"handed_over": handed_over, "cpu_seconds": times.user + times.system}), flush=True)
