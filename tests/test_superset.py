"""Superset as a person uses it: `journey superset` starts it from the bundle in
superset/bundle/ against a published warehouse, a headless Chromium logs in with the login
form and opens every dashboard, every chart's query returns rows without an error and
every chart is drawn (screenshots in test-artifacts/superset/), and SIGTERM stops every
process of the command. The bundle itself is checked against the exposures and the
published marts without Superset."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import cli
from orchestration.cli import _group_members
from orchestration.project import REPO_ROOT
from orchestration.superset import ADMIN_PASSWORD, ADMIN_USER, BUNDLE_DIR, DASHBOARD_SLUGS

ARTIFACTS = REPO_ROOT / "test-artifacts" / "superset"
EXPOSURES = REPO_ROOT / "models" / "exposures" / "_exposures.yml"
DASHBOARD_PAGES = "http://127.0.0.1:8088/superset/dashboard/"  # + slug + "/"
CHROMIUM_MISSING = (
    "headless Chromium is needed to check the dashboards: install Debian's package with "
    "`apt-get install -y chromium` (or put a `chromium` binary on PATH)"
)
# The first start installs Superset's environment from PyPI (about 700 MB); later ones
# find it in the cache and take about half a minute.
START_TIMEOUT_SECONDS = 900
WINDOW = (1400, 2400)  # tall enough that every chart is in view (Superset draws only those)


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _bundle(kind: str) -> dict[str, dict]:
    """The bundle's objects of one kind by uuid."""
    return {
        config["uuid"]: config
        for config in (_yaml(path) for path in sorted((BUNDLE_DIR / kind).rglob("*.yaml")))
    }


def _dashboard_exposures() -> dict[str, dict]:
    return {
        exposure["name"]: exposure
        for exposure in _yaml(EXPOSURES)["exposures"]
        if exposure["type"] == "dashboard" and "url" in exposure
    }


def _dashboard_charts(dashboard: dict) -> list[str]:
    return [
        item["meta"]["uuid"]
        for item in dashboard["position"].values()
        if isinstance(item, dict) and item.get("type") == "CHART"
    ]


def test_every_superset_dashboard_is_an_exposure_and_reads_only_what_it_declares():
    exposures = _dashboard_exposures()
    dashboards = {config["slug"]: config for config in _bundle("dashboards").values()}
    charts, datasets = _bundle("charts"), _bundle("datasets")
    assert set(DASHBOARD_SLUGS) == set(dashboards)
    assert {
        "marketing_overview",
        "journey_funnel",
        "retention_and_clv",
        "email",
        "support_pain_points",
    } <= set(exposures)
    for name, exposure in exposures.items():
        slug = exposure["url"].removeprefix(DASHBOARD_PAGES).rstrip("/")
        assert exposure["url"] == f"{DASHBOARD_PAGES}{slug}/", name
        assert slug in dashboards, f"exposure {name}: no dashboard {slug} in the bundle"
        dashboard = dashboards[slug]
        assert dashboard["dashboard_title"] == exposure["label"], name
        chart_uuids = _dashboard_charts(dashboard)
        assert 2 <= len(chart_uuids) <= 5, f"{slug}: {len(chart_uuids)} charts"
        declared = {ref.removeprefix("ref('").removesuffix("')") for ref in exposure["depends_on"]}
        for uuid in chart_uuids:
            dataset = datasets[charts[uuid]["dataset_uuid"]]
            assert dataset["schema"] == "marts"
            assert dataset["table_name"] in declared, (
                f"{slug}: chart {charts[uuid]['slice_name']!r} reads marts."
                f"{dataset['table_name']}, which exposure {name} does not declare"
            )


def test_the_bundle_names_only_published_tables_and_columns(pipeline):
    assert pipeline.outcome.success, pipeline.outcome.failure
    con = duckdb.connect(str(pipeline.settings.published_dir / "bi.duckdb"), read_only=True)
    try:
        published = {
            (table, column)
            for table, column in con.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'marts'"
            ).fetchall()
        }
    finally:
        con.close()
    tables = {table for table, _ in published}
    (database,) = _bundle("databases").values()
    connect_args = database["extra"]["engine_params"]["connect_args"]
    assert connect_args["read_only"] is True
    assert connect_args["config"]["enable_external_access"] is False
    for dataset in _bundle("datasets").values():
        table = dataset["table_name"]
        assert table in tables, f"dataset {table}: no table marts.{table} is published"
        assert dataset["database_uuid"] == database["uuid"]
        missing = [
            column["column_name"]
            for column in dataset["columns"]
            if not column["expression"] and (table, column["column_name"]) not in published
        ]
        assert not missing, f"dataset {table}: columns not in marts.{table}: {missing}"


def test_without_a_published_copy_it_says_so_in_one_line(pipeline, tmp_path, monkeypatch, capsys):
    (tmp_path / "warehouse").mkdir()
    monkeypatch.setenv("JOURNEY_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("JOURNEY_LANDING_DIR", str(pipeline.settings.landing_dir))
    assert cli.main(["superset"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "published/bi.duckdb does not exist yet: run `journey run` first" in error


@dataclass
class Superset:
    process: subprocess.Popen
    port: int
    output: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


@pytest.fixture(scope="module")
def superset(pipeline, tmp_path_factory) -> Iterator[Superset]:
    """`journey superset` on a warehouse holding the pipeline's published copy (a copy of
    it: Superset keeps its state and logs in the warehouse folder, and the pipeline's is
    shared read-only with the other tests), started once for the module."""
    assert pipeline.outcome.success, pipeline.outcome.failure
    root = tmp_path_factory.mktemp("superset")
    (root / "warehouse" / "published").mkdir(parents=True)
    shutil.copyfile(
        pipeline.settings.published_dir / "bi.duckdb",
        root / "warehouse" / "published" / "bi.duckdb",
    )
    port = _free_port()
    output = root / "journey-superset.out"
    env = {
        **os.environ,
        "JOURNEY_WAREHOUSE_DIR": str(root / "warehouse"),
        "JOURNEY_LANDING_DIR": str(pipeline.settings.landing_dir),
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "journey"), "superset", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
    server = Superset(process, port, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while "Superset on http://" not in output.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"journey superset stopped: {_last_line(output)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"journey superset did not start in {START_TIMEOUT_SECONDS}s: "
                    f"{_last_line(output)}",
                    pytrace=False,
                )
            time.sleep(0.5)
        yield server
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (`--remote-debugging-pipe`: JSON messages ended by a NUL byte; Chromium reads them on
    its fd 3 and writes on its fd 4), with the standard library only."""

    def __init__(self, profile: Path, width: int, height: int) -> None:
        to_chromium_read, to_chromium_write = os.pipe()
        from_chromium_read, from_chromium_write = os.pipe()
        # Above 4, so that placing them on 3 and 4 in the child overwrites neither.
        ends = [
            fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            for fd in (to_chromium_read, from_chromium_write)
        ]
        os.close(to_chromium_read)
        os.close(from_chromium_write)

        def place_pipes() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        self.process = subprocess.Popen(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=place_pipes,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in ends:
            os.close(fd)
        self._to = os.fdopen(to_chromium_write, "wb", buffering=0)
        self._from = os.fdopen(from_chromium_read, "rb", buffering=0)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime"):
            self.page(f"{domain}.enable")
        self.page(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from], [], [], remaining)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = self._from.read(1 << 20)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, timeout: float = 60, **params):
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._to.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(timeout)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def page(self, method: str, **params):
        return self.call(method, session=self.session, **params)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (a promise is awaited)."""
        result = self.page(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Collect events until the condition holds (False at the timeout)."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                event = self._receive(min(remaining, 0.25))
                if "method" in event:
                    self.events.append(event)
        return True

    def navigate(self, url: str, timeout: float = 60) -> None:
        self.events.clear()
        self.page("Page.navigate", url=url)
        loaded = self.wait_for(
            lambda: any(event["method"] == "Page.loadEventFired" for event in self.events),
            timeout,
        )
        assert loaded, f"{url} did not load in {timeout}s"

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.page("Page.captureScreenshot")["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._to.close()
        self._from.close()


LOGIN_WITH_THE_FORM = """(() => {
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = '/login/';
  const fields = {csrf_token: document.getElementById('csrf_token').value,
                  username: %s, password: %s};
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden'; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
  return true;
})()"""

# Per chart on the page: its id, whether it drew something (a canvas or an SVG: ECharts;
# a table: tables and pivot tables) and its text.
DRAWN_CHARTS = """JSON.stringify(Array.from(document.querySelectorAll('[data-test-chart-id]'))
  .map(chart => [Number(chart.getAttribute('data-test-chart-id')),
                 chart.querySelectorAll('canvas, svg, table').length > 0,
                 chart.innerText.slice(0, 300)]))"""
LOADING = "document.querySelectorAll('[data-test=\"loading-indicator\"], .loading').length"


@pytest.fixture(scope="module")
def browser(superset, tmp_path_factory) -> Iterator[Browser]:
    """A headless Chromium logged in to Superset with its login form."""
    if shutil.which("chromium") is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"), *WINDOW)
    try:
        chromium.navigate(f"{superset.url}/login/")
        chromium.events.clear()
        chromium.evaluate(
            LOGIN_WITH_THE_FORM % (json.dumps(ADMIN_USER), json.dumps(ADMIN_PASSWORD))
        )
        chromium.wait_for(
            lambda: any(event["method"] == "Page.loadEventFired" for event in chromium.events),
            60,
        )
        me = chromium.evaluate("fetch('/api/v1/me/').then(response => response.json())")
        assert me["result"]["username"] == ADMIN_USER, me
        yield chromium
    finally:
        chromium.close()


def _chart_data(browser: Browser) -> dict[int, list[dict]]:
    """The chart-data requests of the page so far, finished or failed, by chart id:
    [{status, body}] (a chart can ask more than once)."""
    charts, responses, finished = {}, {}, {}
    for event in browser.events:
        params = event["params"]
        if event["method"] == "Network.requestWillBeSent":
            url = urllib.parse.urlsplit(params["request"]["url"])
            if url.path.rstrip("/") == "/api/v1/chart/data":
                form_data = urllib.parse.parse_qs(url.query).get("form_data", ["{}"])[0]
                charts[params["requestId"]] = json.loads(form_data).get("slice_id")
        elif event["method"] == "Network.responseReceived":
            responses[params["requestId"]] = params["response"]["status"]
        elif event["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
            finished[params["requestId"]] = event["method"] == "Network.loadingFinished"
    data: dict[int, list[dict]] = {}
    for request, chart in charts.items():
        if request in finished:
            data.setdefault(chart, []).append(
                {"request": request, "status": responses.get(request), "ok": finished[request]}
            )
    return data


def test_every_dashboard_renders_with_data_and_sigterm_stops_every_process(
    superset, browser, capsys
):
    """One test, so that Superset starts once: pytest-xdist may run the tests of a module
    on different workers, each of which would start its own."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / ".gitignore").write_text("*\n")
    with capsys.disabled():
        print(f"\nsuperset screenshots: {ARTIFACTS}")
    _every_dashboard_renders_and_every_chart_returns_data(superset, browser)
    _sigterm_stops_every_process(superset)


def _every_dashboard_renders_and_every_chart_returns_data(superset, browser) -> None:
    problems = []
    for slug in DASHBOARD_SLUGS:
        charts = {
            chart["id"]: chart["slice_name"]
            for chart in browser.evaluate(
                f"fetch('/api/v1/dashboard/{slug}/charts').then(response => response.json())"
            )["result"]
        }
        assert len(charts) >= 2, slug
        browser.navigate(f"{superset.url}/superset/dashboard/{slug}/")
        answered = browser.wait_for(
            lambda expected=set(charts): set(_chart_data(browser)) >= expected, 120
        )
        assert answered, (
            f"{slug}: charts {sorted(set(charts) - set(_chart_data(browser)))} asked no data"
        )
        browser.wait_for(lambda: browser.evaluate(LOADING) == 0, 60)
        browser.wait_for(lambda: False, 1.5)  # the charts' drawing animations
        screenshot = ARTIFACTS / f"{slug}.png"
        browser.screenshot(screenshot)
        for chart, requests in _chart_data(browser).items():
            for request in requests:
                if not request["ok"] or request["status"] != 200:
                    problems.append(f"{slug}: {charts.get(chart, chart)}: HTTP {request['status']}")
                    continue
                body = json.loads(
                    browser.page("Network.getResponseBody", requestId=request["request"])["body"]
                )
                for result in body["result"]:
                    if result.get("error") or not result.get("rowcount"):
                        problems.append(
                            f"{slug}: {charts.get(chart, chart)}: {result.get('rowcount')} rows, "
                            f"error {result.get('error')}"
                        )
        drawn = {
            chart: (ok, text) for chart, ok, text in json.loads(browser.evaluate(DRAWN_CHARTS))
        }
        assert set(drawn) == set(charts), f"{slug}: charts on the page {sorted(drawn)}"
        for chart, (ok, text) in drawn.items():
            if not ok:
                problems.append(f"{slug}: {charts[chart]} is not drawn: {text!r}")
        assert screenshot.stat().st_size > 50_000, f"{slug}: the screenshot is nearly blank"
    assert problems == []


def _sigterm_stops_every_process(superset) -> None:
    group = superset.process.pid
    assert _group_members(group), "journey superset runs no process"
    superset.process.send_signal(signal.SIGTERM)
    assert superset.process.wait(timeout=60) == 0, _last_line(superset.output)
    deadline = time.monotonic() + 5  # a killed grandchild is reaped by init, not at once
    while _group_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_members(group) == []
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", superset.port))
