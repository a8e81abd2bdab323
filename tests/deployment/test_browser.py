"""The Airflow UI seen in a real browser: headless Chromium (Debian's package, installed by
`make sysdeps`) driven by Playwright against the deployment's api-server, as a person uses
it: the login form, the DAG list, the warehouse grid with its dbt tasks, the trigger form.

Every expected value comes from the project itself: the DAG ids from a DagBag parse of
dags/ (with the deployment's settings), the dbt nodes from the manifest cosmos renders.
Every wait is bounded (Playwright timeouts, deadlines on the loops). A failing step saves a
screenshot to .local/deployment/browser-failure-<step>.png; each step's screenshot goes to
docs/images/ (the README shows them).

Order-independent of the other deployment tests: the run is triggered with the form's
"Unpause on trigger" box unticked, so the DAG stays as paused as it was; the run (queued on
a paused DAG, never started) is deleted at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment.conftest import ROOT, STATE, stack_environ

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("ELT_CHROMIUM", "/usr/bin/chromium"))
# Screenshots go to .local/deployment/screenshots; ELT_UPDATE_SCREENSHOTS=1 writes the
# README's copies in docs/images instead (so `make test` leaves the tree clean).
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("ELT_UPDATE_SCREENSHOTS") == "1"
    else STATE / "screenshots"
)
MANIFEST = ROOT / "dbt_project" / "target" / "manifest.json"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000  # any one Playwright action or expectation
NAVIGATION_TIMEOUT_MS = 60_000
DAG_LIST_DEADLINE_S = 180  # the dag-processor may still be parsing right after `make up`
WAREHOUSE_DAG = "warehouse"
DBT_GROUP = "dbt"
# The source DAG whose trigger form is used. The scheduler-day tests leave it alone; any
# other extract DAG would do (the run is deleted before it could start).
PREFERRED_SOURCE_DAG = "yelp_businesses"
# cosmos's task id for a dbt node without its tests beside it (a node with tests is a task
# group `<name>` holding `run` and `test`).
COSMOS_SUFFIX = {"model": "_run", "snapshot": "_snapshot", "seed": "_seed"}


# --- what the project says the UI must show ------------------------------------------


@pytest.fixture(scope="module")
def dagbag(deployment) -> dict:
    """DAG ids, tags and import errors of dags/, parsed with the deployment's settings in
    a process of its own (the test process carries the main stack's Airflow settings)."""
    code = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder='dags')\n"
        "print(json.dumps({'dags': {d: sorted(bag.dags[d].tags) for d in bag.dag_ids},"
        " 'import_errors': {str(k): v for k, v in bag.import_errors.items()}}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**stack_environ(), **deployment.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    bag = json.loads(out.stdout.strip().splitlines()[-1])
    assert bag["import_errors"] == {}, bag["import_errors"]
    assert bag["dags"], "the DagBag of dags/ is empty"
    return bag


def expected_dbt_nodes() -> dict[str, str]:
    """name -> resource type of every model, snapshot and seed of the project, from the
    manifest the warehouse DAG's dbt task group is rendered from."""
    manifest = json.loads(MANIFEST.read_text())
    project = manifest["metadata"]["project_name"]
    return {
        node["name"]: node["resource_type"]
        for node in manifest["nodes"].values()
        if node["package_name"] == project and node["resource_type"] in COSMOS_SUFFIX
    }


# --- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api  # requirements-dev.txt

    assert CHROMIUM.exists(), f"{CHROMIUM} missing: `make sysdeps` installs Debian's chromium"
    with sync_api.sync_playwright() as pw:
        # Debian's chromium, never a browser Playwright downloads (there is no internet).
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, timeout=60_000)
        yield browser
        browser.close()


@contextlib.contextmanager
def step(page, name: str) -> Iterator[None]:
    """On any failure inside, save what the browser showed, and name the file."""
    try:
        yield
    except BaseException as exc:
        shot = STATE / f"browser-failure-{name}.png"
        with contextlib.suppress(Exception):
            STATE.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), timeout=10_000)
        exc.add_note(f"browser step {name!r} failed at {page.url}; screenshot: {shot}")
        raise


def screenshot(page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), timeout=10_000)


@pytest.fixture(scope="module")
def page(browser, deployment):
    """One signed-in browser tab: the SimpleAuthManager login form filled and submitted."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    with step(page, "login"):
        page.goto(deployment.url)
        # Not signed in: the UI sends the browser to the auth manager's login page.
        expect(page).to_have_url(re.compile(r"/auth/login"))
        page.get_by_label("Username").fill(deployment.user)
        page.get_by_label("Password").fill(deployment.password)
        screenshot(page, "login")
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/auth/login"))
        expect(page.get_by_role("link", name="Dags").first).to_be_visible()
        cookies = {c["name"] for c in context.cookies(deployment.url)}
        assert "_token" in cookies, f"no JWT cookie after signing in: {sorted(cookies)}"
    yield page
    context.close()


def test_the_login_form_signs_in(page, deployment):
    """The `page` fixture signed in through the form: the browser's session (its JWT
    cookie) is that user's, and a page opened again stays signed in."""
    from playwright.sync_api import expect

    with step(page, "login"):
        me = page.context.request.get(f"{deployment.url}/ui/auth/me", timeout=TIMEOUT_MS)
        assert me.ok, (me.status, me.text()[:500])
        assert me.json()["username"] == deployment.user
        page.goto(deployment.url)
        expect(page).not_to_have_url(re.compile(r"/auth/login"))
        expect(page.get_by_role("link", name="Dags").first).to_be_visible()


def open_dag(page, deployment, dag_id: str) -> None:
    """A DAG's page, or a clear failure when the UI answers that it has no such DAG."""
    from playwright.sync_api import expect

    page.goto(f"{deployment.url}/dags/{dag_id}")
    loaded = page.get_by_role("button", name="Trigger Dag")
    not_found = page.get_by_text("Dag Not Found")
    expect(loaded.or_(not_found).first).to_be_visible()
    if not_found.is_visible():
        pytest.fail(f"the UI has no DAG {dag_id!r}: {page.locator('body').inner_text()[:300]}")


# --- the DAG list --------------------------------------------------------------------


IMPORT_ERROR_LABEL = re.compile(r"Dag Import Errors?")
# The "Dag Import Error" count renders a moment after the page's /api/v2/importErrors
# answer (measured: about 2 s), and not at all when there is none: its absence is that it
# did not show within this time after the answer.
IMPORT_ERROR_SETTLE_MS = 8_000


class ImportErrors:
    """The import errors a page fetched itself (it asks for the count and the first)."""

    def __init__(self, page) -> None:
        self.page = page
        self.bodies: list[dict] = []
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        if "/api/v2/importErrors" in response.url and response.ok:
            with contextlib.suppress(Exception):  # a body gone with a navigation
                self.bodies.append(response.json())

    def goto(self, url: str) -> None:
        self.bodies.clear()
        self.page.goto(url)

    def fetched(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not self.bodies:
            assert time.monotonic() < deadline, f"{self.page.url} fetched no import errors"
            self.page.wait_for_timeout(200)
        return {
            "total": max(body["total_entries"] for body in self.bodies),
            "first": {
                e["filename"]: (e.get("stack_trace") or "").strip().splitlines()[-1:]
                for body in self.bodies
                for e in body["import_errors"]
            },
        }

    def assert_none_shown(self) -> None:
        """No "Dag Import Error" count: the DAG list's badge, the home page's stat."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        errors = self.fetched()
        badge = self.page.get_by_role("button", name=IMPORT_ERROR_LABEL).first
        try:
            badge.wait_for(state="visible", timeout=IMPORT_ERROR_SETTLE_MS)
        except PlaywrightTimeout:
            return
        shown = badge.get_attribute("aria-label") or badge.inner_text()
        pytest.fail(f"{self.page.url} shows {shown!r} ({badge.inner_text()!r}): {errors}")

    def close(self) -> None:
        self.page.remove_listener("response", self._on_response)


def _listed_dags(page) -> set[str]:
    """The DAG ids the list links to (a card's title links to /dags/<dag_id>)."""
    paths = page.locator("a[href]").evaluate_all("els => els.map(e => new URL(e.href).pathname)")
    return {m[1] for p in paths if (m := re.fullmatch(r"/dags/([^/]+)", p))}


def test_the_dag_list_shows_every_dag_of_dags_and_no_import_error(page, deployment, dagbag):
    from playwright.sync_api import expect

    expected = set(dagbag["dags"])
    import_errors = ImportErrors(page)
    try:
        with step(page, "dags"):
            deadline = time.monotonic() + DAG_LIST_DEADLINE_S
            while True:
                import_errors.goto(f"{deployment.url}/dags")
                # "N Dags" above the cards: the list has rendered what the API returned.
                count = page.get_by_text(re.compile(r"^\d+ Dags?$"))
                expect(count).to_be_visible()
                listed = _listed_dags(page)
                if listed == expected or time.monotonic() > deadline:
                    break
                time.sleep(3)
            assert listed == expected, (
                f"DAG list after {DAG_LIST_DEADLINE_S} s: missing {sorted(expected - listed)}, "
                f"not in dags/ {sorted(listed - expected)}; "
                f"import errors: {import_errors.fetched()}"
            )
            expect(count).to_have_text(f"{len(expected)} Dags")
            import_errors.assert_none_shown()
            screenshot(page, "dags")

        with step(page, "home"):
            import_errors.goto(deployment.url)
            expect(page.get_by_text("Failed Dags")).to_be_visible()
            import_errors.assert_none_shown()
            errors = import_errors.fetched()
            assert errors["total"] == 0, f"the deployment has DAG import errors: {errors}"
    finally:
        import_errors.close()


# --- the warehouse grid --------------------------------------------------------------

# Each grid row carries its task id and shows its label; the rows are virtualized (only
# what is in view is in the DOM), so the list is scrolled through and collected: task id ->
# the label a person reads. Bounded: at most 200 scrolls.
_COLLECT_ROWS = """async (first) => {
  let box = first.parentElement;
  while (box && !(/(auto|scroll)/.test(getComputedStyle(box).overflowY)
                  && box.scrollHeight > box.clientHeight)) box = box.parentElement;
  const rows = {};
  const collect = () => document.querySelectorAll('[data-task-id]')
    .forEach(e => { rows[e.dataset.taskId] = e.innerText.trim(); });
  collect();
  if (!box) return rows;
  box.scrollTop = 0;
  for (let i = 0; i < 200; i++) {
    await new Promise(r => setTimeout(r, 150));
    collect();
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
    box.scrollTop += Math.max(1, Math.floor(box.clientHeight / 2));
  }
  box.scrollTop = 0;
  return rows;
}"""


def test_the_warehouse_grid_shows_every_dbt_node(page, deployment, dagbag):
    from playwright.sync_api import expect

    assert WAREHOUSE_DAG in dagbag["dags"]
    nodes = expected_dbt_nodes()
    assert nodes, f"no models or snapshots in {MANIFEST}"
    with step(page, "warehouse_grid"):
        open_dag(page, deployment, WAREHOUSE_DAG)
        page.get_by_role("button", name="Show Grid").click()
        group = page.locator(f'[data-task-id="{DBT_GROUP}"]')
        expect(group).to_be_visible()
        page.get_by_role("button", name="Expand all task groups").click()
        expect(page.locator(f'[data-task-id^="{DBT_GROUP}."]').first).to_be_visible()
        rows = page.locator("[data-task-id]").first.evaluate(_COLLECT_ROWS)
        # A dbt node is a row under the group, labelled with its name (its task group, or
        # its task where cosmos puts no tests beside it): one row per node, each turning
        # green/red as the build reports that node, not one opaque build task.
        missing = {}
        for name, kind in sorted(nodes.items()):
            shown = [
                rows.get(f"{DBT_GROUP}.{name}{suffix}") for suffix in ("", COSMOS_SUFFIX[kind])
            ]
            if not any(
                label and label.splitlines()[0].strip() in (name, name + COSMOS_SUFFIX[kind])
                for label in shown
            ):
                missing[name] = shown
        assert not missing, (
            f"dbt nodes of the manifest not shown in the {WAREHOUSE_DAG} grid: "
            f"{sorted(missing)}; the grid's {DBT_GROUP} rows: "
            f"{ {k: v for k, v in sorted(rows.items()) if k.startswith(DBT_GROUP + '.')} }"
        )
        screenshot(page, "warehouse_grid")


# --- the trigger form ----------------------------------------------------------------


def _body(response) -> str:
    from playwright.sync_api import Error as PlaywrightError

    try:
        return response.text()[:1000]
    except PlaywrightError as exc:  # a body gone with a navigation
        return f"(body unavailable: {exc.message})"


def _source_dag(deployment, dagbag) -> str:
    extract = sorted(d for d, tags in dagbag["dags"].items() if "layer:extract" in tags)
    assert extract, f"no DAG tagged layer:extract in dags/: {dagbag['dags']}"
    if PREFERRED_SOURCE_DAG in extract:
        return PREFERRED_SOURCE_DAG
    paused = [d for d in extract if deployment.get(f"/dags/{d}")["is_paused"]]
    return (paused or extract)[0]


def test_the_trigger_form_creates_a_run_the_ui_lists(page, deployment, dagbag):
    from playwright.sync_api import expect

    dag_id = _source_dag(deployment, dagbag)
    was_paused = deployment.get(f"/dags/{dag_id}")["is_paused"]
    run_id = f"browser_test__{time.time_ns()}"
    try:
        with step(page, "trigger_form"):
            open_dag(page, deployment, dag_id)
            page.get_by_role("button", name="Trigger Dag").click()
            form = page.get_by_role("dialog")
            expect(form).to_contain_text(f"Trigger Dag - {dag_id}")
            unpause = form.get_by_label(re.compile(r"^Unpause .* on trigger$"))
            if unpause.is_checked():  # the form ticks it by default; the test leaves
                form.get_by_text(re.compile(r"^Unpause .* on trigger$")).click()  # pausing alone
            expect(unpause).not_to_be_checked()
            form.get_by_role("button", name="Advanced Options").click()
            form.get_by_label("Run ID").fill(run_id)
            with page.expect_response(
                lambda r: r.url.endswith(f"/dags/{dag_id}/dagRuns") and r.request.method == "POST"
            ) as created:
                form.get_by_role("button", name="Trigger", exact=True).click()
            assert created.value.ok, (created.value.status, _body(created.value))
            # The UI opens the new run.
            expect(page).to_have_url(re.compile(rf"/dags/{dag_id}/runs/{run_id}$"))
            expect(
                page.get_by_text("Dag run has been successfully triggered.").first
            ).to_be_visible()

        with step(page, "triggered_run"):
            page.goto(f"{deployment.url}/dags/{dag_id}/runs")
            row = page.get_by_role("row").filter(has_text=run_id)
            expect(row).to_have_count(1)
            expect(row).to_contain_text("Manual")
            if was_paused:  # and stays so: the run waits, queued, and is never started
                expect(row).to_contain_text("Queued")
            expect(row.get_by_role("link", name=run_id)).to_be_visible()
            screenshot(page, "triggered_run")

        run = deployment.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        assert run["run_type"] == "manual" and run["triggering_user_name"] == deployment.user, run
        assert run["state"] == "queued" or not was_paused, run
        assert deployment.get(f"/dags/{dag_id}")["is_paused"] == was_paused
    finally:
        # Nothing left for the other tests: no queued run that an unpause would start.
        deployment.api("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")
        if deployment.get(f"/dags/{dag_id}")["is_paused"] != was_paused:
            deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": was_paused})
