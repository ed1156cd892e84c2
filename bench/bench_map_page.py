"""The grid map page with 10,000 grid polygons (issue 16): time to interactive in Chromium, and
the size of the outlines it loads.

    .venv/bin/python bench/bench_map_page.py [--grids 10000] [--loads 5] [--work DIR]

The grids are bench_grid_assign's synthetic city (Voronoi street grids and campuses), written
as a GeoJSON FeatureCollection and imported through the importer (its checks and overlap
report timed too). A throwaway SQLite database and VAR_DIR hold a superuser; Django serves the
console from a thread (static files through WhiteNoise) and Playwright drives Debian's
Chromium (/usr/bin/chromium), 1280 × 800.

Timed:
- the import of the GeoJSON file (10,000 polygons checked, overlaps found);
- building the display outlines once per grids file (simplified, integer steps);
- the page to interactive: from navigation start to the chart's first `finished` event with
  every grid drawn (`window.qwMapReady`), the first load (nothing cached) and `--loads` more
  (the outlines revalidated: 304), median and worst; and a county's drill-down (the select
  changed, to the next `finished`).
Sizes: the outlines as sent and gzipped, against the baseline of plain GeoJSON of the same
polygons (unsimplified, shapely's coordinates).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grid_assign import load, synthetic_grids

GOAL_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-map-password-9"


def write_geojson(grids: list[Any], path: Path) -> int:
    """The grids as a FeatureCollection; returns its size in bytes (the plain-GeoJSON
    baseline of what a map could be sent)."""
    import shapely

    features = [
        {
            "type": "Feature",
            "properties": {
                "grid_id": grid,
                "name": name,
                "grid_type": kind,
                "county_code": county,
            },
            "geometry": json.loads(shapely.to_geojson(geometry)),
        }
        for grid, name, county, kind, geometry in grids
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def serve() -> tuple[Any, str]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def time_loads(url: str, username: str, loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page.set_default_timeout(60_000)
        page.goto(f"{url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        times = []
        drawn = 0
        for _ in range(loads + 1):
            page.goto(f"{url}/channels/map/")
            page.wait_for_selector("#grid-map[data-ready='1']", state="attached")
            times.append(float(page.evaluate("window.qwMapReady")))
            drawn = int(
                page.evaluate(
                    "echarts.getInstanceByDom(document.getElementById('grid-map'))"
                    ".getOption().series[0].data.length"
                )
            )
        county = page.evaluate("document.querySelector('#map-county option:nth-child(2)').value")
        drill = float(
            page.evaluate(
                """county => new Promise(done => {
                    const chart = echarts.getInstanceByDom(document.getElementById('grid-map'));
                    const select = document.getElementById('map-county');
                    const started = performance.now();
                    chart.on('finished', function once() {
                        chart.off('finished', once); done(performance.now() - started);
                    });
                    select.value = county;
                    select.dispatchEvent(new Event('change'));
                })""",
                county,
            )
        )
        browser.close()
    return {"first": times[0], "warm": times[1:], "drawn": drawn, "drill": drill}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-map-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["QUANWANG_VAR_DIR"] = str(work / "var")
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    os.environ.setdefault("QUANWANG_ALLOWED_HOSTS", "127.0.0.1,localhost")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from quanwang.channels.geo import mapdata
    from quanwang.channels.geo.polygons import grid_shapes
    from quanwang.data.customers import Scope
    from quanwang.data.importer import import_file

    print(f"cores: {os.cpu_count()}, load before: {load()}")
    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    if not users.filter(username="bench").exists():
        users.create_superuser("bench", "bench@example.com", PASSWORD)

    grids = synthetic_grids(args.grids)
    source = work / "grids.geojson"
    plain = write_geojson(grids, source)
    started = time.monotonic()
    report = import_file(table_name="grids", path=source, confirm_replace=True)
    print(
        f"import of {len(grids):,} GeoJSON polygons: {time.monotonic() - started:.1f} s "
        f"({report.loaded:,} loaded, {report.quarantined} quarantined)"
    )
    started = time.monotonic()
    shapes = grid_shapes()
    parsed = time.monotonic() - started
    started = time.monotonic()
    mapdata.outlines(shapes)
    print(f"outlines: parsed in {parsed:.1f} s, built once in {time.monotonic() - started:.1f} s")
    body, _tag = mapdata.outlines_json(Scope(grids=None, gridless=True))
    zipped = len(gzip.compress(body, 6))
    plain_zipped = len(gzip.compress(source.read_bytes(), 6))
    print(
        f"outlines sent: {len(body) / 1e6:.2f} MB ({zipped / 1e6:.2f} MB gzipped); baseline "
        f"plain GeoJSON: {plain / 1e6:.2f} MB ({plain_zipped / 1e6:.2f} MB gzipped); "
        f"{len(body) / plain:.2f} × ({zipped / plain_zipped:.2f} × gzipped)"
    )
    server, url = serve()
    started = time.monotonic()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(users.get(username="bench"))
    for path in ("/channels/map/", "/channels/map/grids.json", "/channels/map/values.json"
                 "?kpi=geo:customers&month=2024-06"):  # fmt: skip
        client.get(path)
    print(f"server, first requests of a fresh process: {time.monotonic() - started:.2f} s")
    try:
        result = time_loads(url, "bench", args.loads)
    finally:
        server.shutdown()
    warm = result["warm"]
    median = statistics.median(warm)
    print(
        f"time to interactive, {result['drawn']:,} polygons drawn: first load (browser cache "
        f"empty) {result['first']:.0f} ms; then median {median:.0f} ms, worst "
        f"{max(warm):.0f} ms of {len(warm)} ({median / GOAL_MS:.2f} × the 1 s goal); "
        "a county's drill-down "
        f"{result['drill']:.0f} ms"
    )
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
