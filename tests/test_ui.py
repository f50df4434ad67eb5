"""The interactive page (sim/ui.py, `innosim ui`): the model behind it, its flows and drawings,
the command, and one test that drives the page in headless Chromium (marked `browser`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.app import cli
from sim.inputs.levers import registry
from sim.inputs.paths import SCENARIOS
from sim.model import InnovationModel
from sim.model.agents.region import ABROAD, BEIJING

pytest.importorskip("solara", reason="the page needs the ui extra: pip install 'innosim[ui]'")
import sim.app.ui as ui  # noqa: E402  (after the skip: importing it builds the page)

SCALE = 0.02  # tests: about 800 firms


def page_model(**kwargs) -> ui.PageModel:
    return ui.PageModel(**{"scale": SCALE, **kwargs})


# ------------------------------------------------------------------------------------------------
# the page and its parameters
# ------------------------------------------------------------------------------------------------
def test_page_builds_with_the_documented_parameters():
    from mesa.visualization import Slider
    from mesa.visualization.solara_viz import _check_model_params

    params = ui.model_params()
    assert params["scenario"]["values"] == ui.scenario_names()
    assert {"baseline", "plan", "historical"} <= set(ui.scenario_names())
    assert any(n.startswith("pillar_") for n in ui.scenario_names())
    assert any(n.startswith("shock_") for n in ui.scenario_names())
    reg = registry()
    for s in ui.MAIN_LEVERS:
        slider, lever = params[s.id], reg[s.id]
        assert isinstance(slider, Slider)
        assert (slider.min, slider.max, slider.value) == (lever.low, lever.high, lever.default)
        # the 2015 value is on the slider's grid, so a slider can be put back on it
        k = (lever.default - lever.low) / s.step
        assert abs(k - round(k)) < 1e-6, s.id
    # Mesa checks the parameters against the constructor it calls on Reset
    _check_model_params(ui.PageModel.__init__, params)
    page = ui.build_page(page_model())
    assert page.component.name == "SolaraViz"
    assert page.kwargs["model_params"].keys() == params.keys()
    # what `innosim ui` serves is a component, rendered (with its model) once per session
    assert ui.page is ui.Page and callable(ui.Page)


def render_session(page: Any = None) -> Any:
    """One session's page rendered server-side, inside the app layout that holds Mesa's sidebar
    (Controls, Model Parameters, the step counter) and app bar; returns solara's render context."""
    import solara

    _box, rc = solara.render(solara.AppLayout(children=[page or ui.Page()]), handle_error=False)
    return rc


def shown_steps(rc: Any) -> list[str]:
    """The step counters (Mesa's "Step: n") a rendered page shows."""
    import ipyvuetify as v

    spans = rc.find(v.Html, tag="span").widgets
    return [w.children[0] for w in spans if str(w.children[0]).startswith("Step: ")]


def status_text(rc: Any) -> str:
    import solara

    return rc.find(
        solara.widgets.HTML, attributes={"class": "innosim-status"}
    ).widget.unsafe_innerHTML


def test_each_session_renders_its_own_model_and_title():
    """Two renders of `Page` (as two browser sessions get) hold two models: steps in one leave
    the other where it was. (Outside a server the sessions share Mesa's update counter, so both
    redraw on every step and a shared model would show the same count in both.)"""
    import ipyvuetify as v
    from solara.components.title import TitleWidget

    a, b = render_session(), render_session()
    for rc in (a, b):
        assert rc.find(TitleWidget).widget.title == ui.TITLE
    step_a = a.find(v.Btn, children=["Step"]).widget
    step_a.click()
    step_a.click()
    assert (shown_steps(a), shown_steps(b)) == (["Step: 2"], ["Step: 0"])
    b.find(v.Btn, children=["Step"]).widget.click()
    assert (shown_steps(a), shown_steps(b)) == (["Step: 2"], ["Step: 1"])
    assert "2016 Q2" in status_text(a) and "2016 Q1" in status_text(b)


def test_play_and_step_stop_at_the_horizon():
    """Mesa's Step (like Play) runs a render interval's batch of steps without checking
    `running`: with 7 a batch crosses the 60-quarter horizon, and the model stops at 60, the
    status says the run is complete and Step is disabled."""
    import ipyvuetify as v

    m = page_model()
    rc = render_session(ui.build_page(m))
    interval = rc.find(v.Slider, label="Render Interval (steps)").widget
    interval.v_model = 7
    step = rc.find(v.Btn, children=["Step"]).widget
    clicks = 0
    while not step.disabled:
        step.click()
        clicks += 1
        assert clicks <= 9, "Step still enabled past the horizon"
    assert (clicks, m.steps, m.running) == (9, m.horizon, False)
    assert shown_steps(rc) == [f"Step: {m.horizon}"]
    assert ui.current_period(m) == (m.end_year, m.steps_per_year)
    assert f"{m.end_year} Q4" in status_text(rc) and "Run complete" in status_text(rc)
    assert sorted(m.annual) == list(range(m.start_year, m.end_year + 1))
    window = [f.copy() for f in m.flow_window]
    m.step()  # as Mesa's batch does past the horizon: nothing happens, nothing is counted
    assert m.steps == m.horizon and not m.running
    assert all(np.array_equal(f, g) for f, g in zip(window, m.flow_window, strict=True))


def test_sliders_show_their_values():
    """Every parameter slider shows its current value beside its label, to the step's decimals,
    and follows the slider when it moves (as the browser sends it, with rounding noise)."""
    import ipyvuetify as v
    from mesa.visualization import Slider

    rc = render_session()

    def shown() -> dict[str, str]:
        spans = [w.children[0] for w in rc.find(v.Html, tag="span").widgets]
        return {
            label: value
            for label, value in zip(spans, spans[1:], strict=False)
            if any(label == p.label for p in sliders.values())
        }

    sliders = {k: p for k, p in ui.model_params().items() if isinstance(p, Slider)}
    assert shown() == {p.label: ui.slider_text(p.value, p.step) for p in sliders.values()}
    assert shown()["IP protection (2015: 0.4)"] == "0.4"
    # the parameter sliders (Mesa's own Controls come first, with their labels inline)
    widgets = [w for w in rc.find(v.Slider).widgets if w.label == ""]
    assert [(w.min, w.max, w.step) for w in widgets] == [
        (p.min, p.max, p.step) for p in sliders.values()
    ]
    widgets[list(sliders).index("ip_protection")].v_model = 0.6000000000000001
    assert shown()["IP protection (2015: 0.4)"] == "0.6"
    assert shown()["Scale (share of 2015 agents)"] == "0.25"  # MATCHING_SCALE
    assert [ui.slider_text(x, st) for x, st in [(0.365, 0.005), (125.0, 5), (8.2, 0.1)]] == [
        "0.365",
        "125",
        "8.2",
    ]


def test_page_renders_and_redraws_after_steps():
    """Server-side render of the whole page (no browser): the charts change when the model
    steps, as they do when Mesa's Step button calls model.step() and force_update()."""
    import solara
    from mesa.visualization.utils import force_update

    assert not cli.ui_problems(), cli.ui_problems()
    m = page_model()
    _box, rc = solara.render(ui.build_page(m), handle_error=False)

    def sources() -> dict[str, str]:
        imgs = rc.find(solara.widgets.HTML, tag="img")
        return {w.widget.attributes["class"]: w.widget.attributes["src"] for w in imgs}

    before = sources()
    assert set(before) == {"innosim-indicators", "innosim-flows"}
    for _ in range(4):  # one year: the indicators are yearly
        m.step()
        force_update()
    after = sources()
    assert all(after[k] != before[k] for k in before)
    status = rc.find(solara.widgets.HTML, attributes={"class": "innosim-status"}).widget
    assert "2016 Q4" in status.unsafe_innerHTML and "plan" in status.unsafe_innerHTML


# ------------------------------------------------------------------------------------------------
# the model factory: scenario, sliders, seed
# ------------------------------------------------------------------------------------------------
def test_factory_applies_the_scenario_and_the_moved_sliders():
    m = page_model(scenario="plan", seed="7", ip_protection=0.9, basic_research_priority=0.36)
    assert (m.scenario_name, m.seed, m.scale) == ("plan", 7, SCALE)
    # a moved slider holds for the whole run; one at its 2015 value follows the scenario
    assert m.overridden == {"ip_protection": 0.9}
    ref = InnovationModel(SCENARIOS / "plan.yaml", scale=SCALE, rng=7, ip_protection=0.9)
    for year in range(m.start_year, m.end_year + 1):
        assert m.levers.at(year) == ref.levers.at(year)
        assert m.levers.at(year)["ip_protection"] == 0.9
    assert m.levers.at(2020)["basic_research_priority"] == 0.45  # the plan's value


def test_pinned_sliders_override_every_slider_lever():
    m = page_model(scenario="plan", pin_levers=True, basic_research_priority=0.36)
    assert m.overridden == {"basic_research_priority": 0.36}
    assert {m.levers.at(y)["basic_research_priority"] for y in (2016, 2020, 2030)} == {0.36}


def test_slider_values_with_browser_rounding_count_as_2015():
    assert ui.lever_overrides({"basic_research_priority": 0.3600000000000005}) == {}
    assert ui.lever_overrides({"basic_research_priority": 0.37}) == {
        "basic_research_priority": 0.37
    }


def test_factory_rejects_bad_parameters():
    with pytest.raises(ValueError, match="unknown scenario"):
        page_model(scenario="nope")
    with pytest.raises(ValueError, match="seed"):
        page_model(seed="abc")
    with pytest.raises(TypeError, match="not a lever id"):
        page_model(not_a_lever=1.0)


def test_page_model_runs_like_the_model():
    m = page_model(scenario="plan", seed=3, ip_protection=0.7)
    ref = InnovationModel(SCENARIOS / "plan.yaml", scale=SCALE, rng=3, ip_protection=0.7)
    for _ in range(8):
        m.step()
        ref.step()
    assert m.annual == ref.annual


# ------------------------------------------------------------------------------------------------
# flows between regions
# ------------------------------------------------------------------------------------------------
def test_flow_matrices_are_finite_non_negative_and_move_with_the_model():
    m = page_model()
    flows = ui.flow_matrices(m)
    assert set(flows) == set(ui.FLOW_KINDS)
    assert all(f.shape == (7, 7) and not f.any() for f in flows.values())  # nothing yet
    m.step()
    first = ui.flow_matrices(m)
    for _ in range(4):
        m.step()
    later = ui.flow_matrices(m)
    for kind in ui.FLOW_KINDS:
        for f in (first[kind], later[kind]):
            assert np.isfinite(f).all() and (f >= 0).all(), kind
        assert later[kind].sum() > 0, kind
    assert any(not np.allclose(first[k], later[k]) for k in ui.FLOW_KINDS)


def test_flows_add_up_to_the_year_the_model_records():
    """After a whole year the four recorded quarters are that year: the technology flows sum to
    the technology market's flows, capital to VC rounds and bank loans, and Beijing's sales are
    the indicator `tech_contract_turnover`."""
    m = page_model()
    for _ in range(m.steps_per_year):
        m.step()
    flows = ui.flow_matrices(m)
    sf = m.scale_firms
    np.testing.assert_allclose(flows["technology"], m.technology_market.flow / sf, rtol=1e-9)
    assert flows["technology"][BEIJING].sum() == pytest.approx(
        m.annual[2016]["tech_contract_turnover"], rel=1e-9
    )
    cm = m.capital_market
    assert flows["capital"].sum() == pytest.approx((cm.vc_invested + cm.loans_issued) / sf)
    np.testing.assert_allclose(flows["capital"], cm.flow / sf, rtol=1e-9)
    np.testing.assert_allclose(flows["talent"], m.talent_market.flow.sum(axis=0) / m.scale)


def test_talent_flows_are_the_moves_the_talent_market_applies():
    """`TalentMarket.flow` gains exactly the moves `migrate` applies to the regional pools, and
    recruits from abroad land in the universities' regions."""
    m = page_model()
    for _ in range(3):
        m.step()
    tm = m.talent_market
    pools, flow = m.regions.pool.copy(), tm.flow.copy()
    tm.migrate(m.lever_values)
    moved = tm.flow - flow
    assert (moved >= 0).all() and np.all(np.diagonal(moved, axis1=1, axis2=2) == 0)
    np.testing.assert_allclose(
        m.regions.pool - pools, moved.sum(axis=1) - moved.sum(axis=2), rtol=1e-9, atol=1e-9
    )
    flow = tm.flow.copy()
    high_end = m.universities.high_end.sum()
    tm.recruit_high_end(m.lever_values)
    recruited = tm.flow - flow
    assert recruited[:, ABROAD].sum() == pytest.approx(m.universities.high_end.sum() - high_end)
    assert recruited.sum() == pytest.approx(recruited[:, ABROAD].sum())


# ------------------------------------------------------------------------------------------------
# drawings and the status panel
# ------------------------------------------------------------------------------------------------
def test_figures_and_status_follow_the_run():
    m = page_model(ip_protection=0.6)
    first = (ui.figure_png(ui.indicator_figure(m)), ui.figure_png(ui.network_figure(m)))
    assert all(png.startswith(b"\x89PNG") for png in first)
    assert "none due yet" in ui.status_html(m)
    for _ in range(2 * m.steps_per_year):  # to the end of 2017, the first target year
        m.step()
    later = (ui.figure_png(ui.indicator_figure(m)), ui.figure_png(ui.network_figure(m)))
    assert later[0] != first[0] and later[1] != first[1]
    status = ui.status_html(m)
    assert "2017 Q4" in status and "IP protection <b>0.6</b>" in status
    rows = ui.attainment_so_far(m)
    assert {r["year"] for r in rows} == {2017}
    assert f"{sum(r['met'] for r in rows)} of {len(rows)} met" in status


def test_page_starts_at_the_matching_scale_and_says_when_below_it():
    from sim.inputs.scenario import MATCHING_SCALE

    assert ui.DEFAULT_SCALE == MATCHING_SCALE
    assert ui.model_params()["scale"].value == MATCHING_SCALE
    assert "below 0.25, the smallest scale" in ui.status_html(page_model())  # SCALE 0.02
    at = ui.PageModel(scale=MATCHING_SCALE)
    assert "innosim-scale-warning" not in ui.status_html(at)


# ------------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------------
def test_ui_appears_in_help():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert "ui" in out.stdout and "interactive page" in out.stdout
    sub = cli.build_parser().parse_args(["ui", "--port", "8800", "--no-browser"])
    assert (sub.command, sub.port, sub.host, sub.no_browser) == ("ui", 8800, "127.0.0.1", True)


def test_ui_without_solara_exits_2_with_the_install_hint(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "solara" else real(name, *a)
    )
    assert cli.main(["ui", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'innosim[ui]'" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# the page in a browser
# ------------------------------------------------------------------------------------------------
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's chromium (never a browser downloaded by playwright)."""
    for path in ("/usr/bin/chromium", shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the page server exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(
        f"the page server did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


def open_session(browser: Any, url: str, log: Path) -> Any:
    """The page in a browser context of its own (its own cookies: its own solara session),
    once its chart is there; fails with the failed requests and the server log otherwise."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(30_000)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(url, timeout=60_000)
    try:
        page.locator("img.innosim-indicators").wait_for(timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail(
            "the page did not render its chart. Requests that failed: "
            f"{failed or 'none'} (solara loads the page's scripts through its proxy of "
            "cdn.jsdelivr.net unless solara-assets is installed). Server log:\n"
            + log.read_text()[-3000:]
        )
    return page


def status_of(page: Any) -> str:
    return page.locator(".innosim-status").inner_text()


def wait_for_status(page: Any, text: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('.innosim-status').innerText.includes(text)",
        arg=text,
        timeout=timeout,
    )


def step_to(page: Any, k: int) -> None:
    """Press Step and wait for Mesa's counter to show step k."""
    page.get_by_role("button", name="Step").click()
    page.get_by_text(f"Step: {k}", exact=True).wait_for()


def lever_slider(page: Any, label: str) -> tuple[Any, Any]:
    """A parameter slider's thumb and the value shown beside its label."""
    box = page.locator(".innosim-slider", has_text=label)
    return box.locator("[role=slider]"), box.locator(".innosim-slider-value")


def control_slider(page: Any, label: str) -> Any:
    """The thumb of one of Mesa's Controls sliders (Play Interval, Render Interval)."""
    return page.locator(".v-input", has_text=label).locator("[role=slider]")


@pytest.mark.browser
def test_two_sessions_in_chromium(tmp_path):
    """Two visitors (two browser contexts) on one page server: each steps, moves a slider,
    resets and plays its own model to the horizon, unaffected by the other; the tab has the
    page's title and the sliders show their values. 1 to 1.5 minutes on 2 shared cores; every
    wait has a deadline and the server is always stopped."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium: install Debian's chromium (apt-get install chromium) to run the "
            "browser test"
        )
    assert not cli.ui_problems(), cli.ui_problems()
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "solara", "run", "sim.app.ui:page", "--production", "--no-open"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
    try:
        wait_for_server(url, server, log, timeout=60)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, headless=True, timeout=30_000
            )
            try:
                a = open_session(browser, url, log)
                b = open_session(browser, url, log)
                for page in (a, b):
                    page.wait_for_function("(t) => document.title === t", arg=ui.TITLE)
                    assert page.title() == ui.TITLE
                before = a.locator("img.innosim-indicators").get_attribute("src")

                # each session steps its own model: with one model shared, b would be at 3
                step_to(a, 1)
                step_to(a, 2)
                step_to(b, 1)
                wait_for_status(b, "2016 Q1")
                step_to(a, 3)
                wait_for_status(a, "2016 Q3")

                # a slider shows its value; a's slider and Reset leave b's alone
                thumb, value = lever_slider(a, "IP protection")
                assert value.inner_text() == "0.4"
                thumb.focus()
                for _ in range(4):
                    thumb.press("ArrowRight")
                assert thumb.get_attribute("aria-valuenow") == "0.6"
                expect(value).to_have_text("0.6")  # once the server has the new value
                expect(lever_slider(b, "IP protection")[1]).to_have_text("0.4")
                a.get_by_role("button", name="Reset").click()
                a.get_by_text("Step: 0", exact=True).wait_for()
                wait_for_status(a, "IP protection 0.6")
                step_to(b, 2)
                wait_for_status(b, "2016 Q2")
                assert "every lever follows the scenario" in status_of(b)

                # both play to the horizon at once, drawing every 7th (a) and 3rd (b) step; a's
                # last batch (57 to 63) crosses the horizon and must stop at 60
                for page, interval in ((a, 7), (b, 3)):
                    render = control_slider(page, "Render Interval")
                    render.focus()
                    for _ in range(interval // 2):  # odd values: 1, 3, 5, 7
                        render.press("ArrowRight")
                    assert render.get_attribute("aria-valuenow") == str(interval)
                    play = control_slider(page, "Play Interval")  # ms between batches
                    play.focus()
                    play.press("Home")
                    assert play.get_attribute("aria-valuenow") == "1"
                a.get_by_role("button", name="▶").click()
                b.get_by_role("button", name="▶").click()
                for page in (a, b):
                    wait_for_status(page, "Run complete", timeout=240_000)
                    expect(page.get_by_text("Step: 60", exact=True)).to_be_visible()
                    expect(page.get_by_role("button", name="Step")).to_be_disabled()
                    assert "2030 Q4" in status_of(page)
                assert "IP protection 0.6" in status_of(a)
                assert "every lever follows the scenario" in status_of(b)
                assert a.locator("img.innosim-indicators").get_attribute("src") != before
                if os.environ.get("INNOSIM_UI_SCREENSHOT"):
                    a.screenshot(path=os.environ["INNOSIM_UI_SCREENSHOT"], full_page=True)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
