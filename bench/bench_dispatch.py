"""Dispatch figures: the contact-policy filter at scale, and SMS throughput to a local gateway.

    .venv/bin/python bench/bench_dispatch.py --audience 1000000 --history 3000000 --messages 20000

policy  `apply_policy` over a generated audience (10% control, 2% DND, consent gaps) and a
        history of contacts spread over 90 days around the send time, with 20k opt-outs
        and a suppression list; the data is made first and not timed. Best and median of
        --repeat runs.
sms     `SmsAdapter.send` of --messages messages in batches of --batch to a gateway on
        127.0.0.1 (http.server, a thread per request) that parses every batch and answers
        per message: messages/s, gateway included, on the same cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import django
import duckdb


def make_inputs(*, audience: int, history: int) -> dict[str, Any]:
    con = duckdb.connect()
    people = con.sql(
        f"""
        SELECT 'S' || lpad(i::VARCHAR, 9, '0') AS subscriber_id,
               'G' || (i % 5000) AS grid_id,
               random() < 0.10 AS in_control,
               CASE WHEN random() < 0.05 THEN NULL ELSE random() < 0.9 END AS consent_sms,
               random() < 0.9 AS consent_wechat, random() < 0.9 AS consent_app,
               random() < 0.9 AS consent_call,
               random() < 0.02 AS do_not_disturb
        FROM range({audience}) t(i)
        """
    ).to_arrow_table()
    # Contacts of 1.2x the audience's ids (some no longer in it), over 2025-02-01..2025-05-01.
    contacts = con.sql(
        f"""
        SELECT 'S' || lpad((hash(i) % {int(audience * 1.2)})::VARCHAR, 9, '0') AS subscriber_id,
               (['sms', 'wechat', 'app_push', 'outbound_call'])[1 + (i % 4)::BIGINT] AS channel,
               TIMESTAMPTZ '2025-02-01 00:00:00+00'
                   + to_seconds((hash(i * 7) % (89 * 86400))::BIGINT) AS sent_at,
               (['contacted', 'accepted', 'refused', 'unreachable'])[1 + (hash(i * 3) % 4)::BIGINT]
                   AS outcome
        FROM range({history}) t(i)
        """
    ).to_arrow_table()
    opt_outs = con.sql(
        f"""
        SELECT 'S' || lpad((hash(i) % {audience})::VARCHAR, 9, '0') AS subscriber_id,
               'sms' AS channel, TIMESTAMPTZ '2024-06-01 00:00:00+00' AS opted_out_at
        FROM range(20000) t(i)
        """
    ).to_arrow_table()
    complaints = [f"S{i:09d}" for i in range(0, audience, 97)]
    return {
        "audience": people,
        "history": contacts,
        "opt_outs": opt_outs,
        "suppressions": {"open_complaints": complaints},
    }


def bench_policy(*, audience: int, history: int, repeat: int) -> dict[str, float]:
    from quanwang.campaigns.choices import Channel
    from quanwang.campaigns.policy import SHANGHAI, ContactPolicy, apply_policy

    inputs = make_inputs(audience=audience, history=history)
    send_at = dt.datetime(2025, 3, 14, 10, 0, tzinfo=SHANGHAI)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        decision = apply_policy(
            channel=Channel.SMS, send_at=send_at, policy=ContactPolicy(), **inputs
        )
        seconds.append(time.perf_counter() - started)
    counts = {rule.value: n for rule, n in sorted(decision.excluded_counts().items())}
    print(
        f"policy  {audience:,} audience rows, {history:,} history rows: "
        f"best {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s "
        f"({decision.allowed.num_rows:,} allowed; excluded {counts})"
    )
    return {"policy_best_s": min(seconds), "policy_median_s": statistics.median(seconds)}


class _Gateway(BaseHTTPRequestHandler):
    """The SMS wire format of docs/campaigns-dispatch.md: every message accepted."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = [
            {"id": item["id"], "status": "accepted", "message_id": f"G{n}"}
            for n, item in enumerate(body["messages"])
        ]
        data = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def bench_sms(*, messages: int, batch: int) -> dict[str, float]:
    from quanwang.campaigns.channels.base import OutboundMessage
    from quanwang.campaigns.channels.sms import SmsAdapter, SmsConfig

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    adapter = SmsAdapter(
        config=SmsConfig(url=f"http://{host!s}:{port}/send", token="bench", batch_size=batch)
    )
    outbox = [
        OutboundMessage(
            campaign_step="BENCH-S1",
            subscriber_id=f"S{n:09d}",
            recipient=f"138{n:08d}",
            text=f"尊敬的客户，您本月可免费领取5G流量包，详询10086。编号{n}",
        )
        for n in range(messages)
    ]
    started = time.perf_counter()
    results = adapter.send(outbox)
    seconds = time.perf_counter() - started
    adapter.close()
    server.shutdown()
    accepted = sum(r.accepted for r in results)
    assert accepted == messages, f"only {accepted} of {messages} accepted"
    rate = messages / seconds
    print(f"sms     {messages:,} messages, batches of {batch}: {seconds:.2f} s, {rate:,.0f} msg/s")
    return {"sms_messages_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audience", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    figures = bench_policy(audience=args.audience, history=args.history, repeat=args.repeat)
    figures |= bench_sms(messages=args.messages, batch=args.batch)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
