"""Visitor message → the agent's page has it: p50 / p95 over a running server.

What is timed, per message: the visitor's widget socket sends it; the agent's
inbox socket is told the conversation changed; the page's fetch of the changed
fragments (GET /inbox/changes/, as inbox-live.js does) returns HTML containing
the text. Rendering in the browser is not included.

Start a server first (it reads the same .env), with the chat rate limits raised
so the benchmark is not refused, e.g. for the embedded default:

    CHAT_RATE_PER_VISITOR=100000 CHAT_RATE_PER_IP=100000 \\
        .venv/bin/uvicorn config.asgi:application --port 8765 &
    .venv/bin/python bench/realtime.py --base http://127.0.0.1:8765 --messages 1000

Needs the demo data (`make demo`): the sandbox's chat widget `demo-chat` and
Ben, a member of the Chat inbox.

For the production-shaped stack (PostgreSQL, channels-redis, two workers), started by
the script itself, with the one-second poll as the baseline and idle sockets, see
bench/realtime_stack.py.
"""

import argparse
import asyncio
import json
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._agent_page import AgentPage  # noqa: E402


def sign_in(base, email, password) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        data={"login": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    answer.raise_for_status()
    assert "sessionid" in session.cookies, "sign-in failed"
    return session


async def next_changed(inbox_socket):
    while True:
        message = json.loads(await asyncio.wait_for(inbox_socket.recv(), timeout=10))
        if message["type"] == "changed":
            return message["conversation_id"]


async def drain(socket):
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=0.05)
    except TimeoutError:
        pass


async def run(args):
    ws_base = args.base.replace("http", "ws", 1)
    session = sign_in(args.base, args.agent, args.password)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    headers = {"Origin": args.base}
    latencies = []
    async with (
        websockets.connect(f"{ws_base}/ws/inbox/", additional_headers={**headers, "Cookie": cookie}) as inbox_socket,
        websockets.connect(f"{ws_base}/ws/chat/{args.widget}/", additional_headers={"Origin": args.site}) as visitor,
    ):
        assert json.loads(await inbox_socket.recv())["type"] == "hello"
        await visitor.send(json.dumps({"type": "hello", "token": "", "page_url": f"{args.base}/bench"}))
        assert json.loads(await visitor.recv())["type"] == "ready"
        run_id = secrets.token_hex(3)
        page = AgentPage(args.base, session=session)
        for n in range(args.messages + 1):
            await drain(inbox_socket)
            text = f"bench {run_id} message {n}"
            started = time.perf_counter()
            await visitor.send(json.dumps({"type": "message", "client_id": f"b{run_id}{n}", "text": text}))
            page.open_id = await next_changed(inbox_socket)
            html = await asyncio.to_thread(page.fetch_changes, "push")
            shown = bool(html) and text in html
            elapsed = (time.perf_counter() - started) * 1000
            assert shown, f"message {n} not in the changed fragments"
            if n:  # the first one opens the conversation; not counted
                latencies.append(elapsed)
            await visitor.recv()  # the ack
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"messages: {len(latencies)}")
    print(f"visitor message → agent's page has it: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8765")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--widget", default="demo-chat")
    parser.add_argument("--site", default="http://127.0.0.1:8000", help="an allowed origin of the widget")
    parser.add_argument("--agent", default="ben@demo.test")
    parser.add_argument("--password", default="demo-agent-password")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
