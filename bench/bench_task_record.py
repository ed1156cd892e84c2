"""Recording task outcomes through the real view (issue 15: under 150 ms median at demo scale).

    QUANWANG_VAR_DIR=VAR .venv/bin/python bench/bench_task_record.py [--records 50] [--htmx]
        [--profile FILE]

VAR is a demo operator with a task list (`bench/load_prepare.py` makes one; copy the folder
first: the outcomes are written into its database). As the demo's grid manager, with Django's
test Client, the script POSTs one outcome for each of the first `--records` customers of the
task list (`/campaigns/tasks/record/`; with `--htmx` as the page's htmx request, answered with
the row), after one warm-up request, and prints each time's median, p95 and max in ms, with
the median CPU time of the process (all its threads; less sensitive than the wall clock to
other work on a busy machine) and the load average.
`--profile FILE` writes a cProfile of the timed requests.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--login", default="grid_manager")
    parser.add_argument("--htmx", action="store_true")
    parser.add_argument(
        "--follow", action="store_true", help="follow the redirect back to the list (no JS)"
    )
    parser.add_argument("--profile")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from quanwang.campaigns.tasks import TaskFilters, TaskState, task_list

    user = get_user_model().objects.get(username=args.login)
    client = Client()
    client.force_login(user)
    todo = task_list(
        user=user,
        filters=TaskFilters(state=TaskState.NOT_RECORDED),
        page_size=args.records + 1,
    ).rows
    if len(todo) < args.records + 1:
        raise SystemExit(f"{args.login} has only {len(todo)} tasks not yet recorded")
    headers = {"HX-Request": "true"} if args.htmx else {}

    cpu: list[float] = []

    def record(task: object) -> float:
        started, used = time.perf_counter(), time.process_time()
        answer = client.post(
            "/campaigns/tasks/record/",
            {
                "campaign": task.campaign_id,  # type: ignore[attr-defined]
                "subscriber_id": task.subscriber_id,  # type: ignore[attr-defined]
                "outcome": "contacted",
                "note": "压测",
                "back": "",
            },
            follow=args.follow,
            headers=headers,
        )
        took = time.perf_counter() - started
        cpu.append((time.process_time() - used) * 1000)
        if answer.status_code not in (200, 302):
            raise SystemExit(f"the view answered {answer.status_code}")
        return took * 1000

    record(todo[0])  # warm-up: the process's first request builds the kept task table
    cpu.clear()
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    times = [record(task) for task in todo[1:]]
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"{len(times)} records as {args.login}{' (htmx)' if args.htmx else ''}: "
        f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms "
        f"(CPU time: median {statistics.median(cpu):.1f} ms; load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
