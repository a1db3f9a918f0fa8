# ruff: noqa: F811  (the CAI run fixture imported from test_export is a parameter here)
"""The dashboard's interactive charts: per-epoch curves, CAI training steps and drift rounds as
Altair charts whose points carry their values (shown on hover), the PNGs beside them."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from scai.contract import simulate
from scai.store import RunStore
from tests.conftest import REPO
from tests.contract_script import ContractScript
from tests.test_contract_loop import config as contract_config
from tests.test_export import cai_run  # noqa: F401  (fixture)


def page(run: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "src/scai/ui/app.py"), default_timeout=120)
    at.query_params["run"] = run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    """Every Vega-Lite chart on the page: its spec, with its data rows (sent as Arrow) as `rows`."""
    import pyarrow as pa

    found = []
    for element in at.get("vega_lite_chart"):
        rows = [r for d in element.proto.datasets
                for r in pa.ipc.open_stream(d.data.data).read_all().to_pylist()]
        found.append({**json.loads(element.proto.spec), "rows": rows})
    return found


def tooltips(spec: dict) -> set[str]:
    """The fields a chart's hover shows (in any layer)."""
    text = json.dumps(spec)
    return {t["field"] for layer in _layers(spec) for t in
            (layer.get("encoding", {}).get("tooltip") or [])} if "tooltip" in text else set()


def _layers(spec: dict) -> list[dict]:
    inner = spec.get("spec", spec)
    return inner.get("layer", [inner])


def test_contract_curves_are_interactive_with_each_epochs_mean_and_ci(tmp_path):
    sim = simulate(contract_config(tmp_path, epochs=3), runs=2, out_dir=tmp_path / "o",
                   progress=False, backend=ContractScript(offer_share=0.25))
    at = page(sim.runs[0].run_id)
    found = charts(at)
    assert found and all({"y", "low", "high", "series"} <= tooltips(c) for c in found)
    offered = next(c for c in found if c.get("title") == "offered share")
    shares = [r for r in offered["rows"] if r["series"] == "assistant (flexible)"]
    expected = sim.aggregate["share_flexible"]
    assert [r["x"] for r in shares] == [0, 1, 2]
    assert [r["y"] for r in shares] == pytest.approx([e.mean for e in expected])
    assert [r["low"] for r in shares] == pytest.approx([e.ci_low for e in expected])
    assert len(at.image) >= len(found)  # each chart's PNG is still there, in its tab
    assert {"chart", "PNG"} <= {t.label for t in at.tabs}


def test_cai_training_steps_and_drift_rounds_are_interactive(cai_run, tmp_path):
    steps = [r for c in charts(page(cai_run)) for r in c["rows"]]
    assert {(r["series"], r["x"], r["y"]) for r in steps if r["panel"] == "loss"} >= {
        ("SFT seed 0", 1, 1.5), ("SFT seed 1", 2, 2.0)}
    from tests.ui_store import _drift_result

    run = RunStore().create_run("drift", {"kind": "drift"}, name="d")
    run.log("result", _drift_result(tmp_path).model_dump(mode="json"))
    run.finish("completed")
    rows = [r for c in charts(page(run.id)) for r in c["rows"]]
    bench = sorted((r["x"], r["y"]) for r in rows if r["panel"] == "benchmark accuracy")
    assert bench == [(0, 0.5), (1, 0.4), (2, pytest.approx(0.3))]


def test_a_shares_band_over_two_runs_stays_within_0_and_1():
    from scai.contract.tasks.ultimatum import Ultimatum
    from scai.report.contract import panel_figure

    acceptance = next(p for p in Ultimatum.panels if p.name == "acceptance")
    per_run = [[{"acceptance": 0.2}, {"acceptance": 1.0}], [{"acceptance": 1.0}, {"acceptance": 1.0}]]
    fig = panel_figure(acceptance, per_run, "two runs")
    rows = fig.data.rows
    assert [r["y"] for r in rows] == [0.6, 1.0]
    assert rows[0]["low"] == 0.0 and rows[0]["high"] == 1.0  # t over 2 runs: -4.5 .. 5.7
