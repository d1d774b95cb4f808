"""The production channel layer (channels-redis): its Redis reads outlast the layer's own blocking wait."""

import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.test_deploy_check import PRODUCTION_ENV

# What each process's receive loop waits on (BZPOPMIN), and the read timeout its pool gives its connections.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool, decode_hosts
config = settings.CHANNEL_LAYERS["default"]
pool = create_pool(decode_hosts(config["CONFIG"]["hosts"])[0])
print(json.dumps({"backend": config["BACKEND"], "blocking_wait": RedisChannelLayer.brpop_timeout,
                  "read_timeout": pool.connection_kwargs.get("socket_timeout")}))
"""


def test_a_quiet_layer_does_not_time_out_its_own_wait():
    env = {
        **PRODUCTION_ENV,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }

    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)
    assert layer["backend"] == "channels_redis.core.RedisChannelLayer"
    # redis-py's default read timeout (5 s) equals the wait: every quiet spell closed a socket.
    assert layer["read_timeout"] is not None and layer["read_timeout"] > layer["blocking_wait"]
