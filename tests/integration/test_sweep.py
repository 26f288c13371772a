"""tradingbot sweep as a user runs it: ranked results, the same figures as replay, resume after a
stop, out of sample, refused grids, and a Dask cluster of worker processes on loopback."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
GRID = ["--grid", "e_rsi_oversold=20:40:10", "--grid", "x_rsi_overbought=60,70"]
FIGURES = ("trades", "win_rate_pct", "total_return_pct", "max_drawdown_pct", "sharpe", "profit_factor",
           "final_equity")


def _command(tool: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "trading.cli", tool, *args]


def _run(tool: str, *args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(_command(tool, *args), cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _figures(row: dict[str, str], prefix: str = "") -> dict[str, str]:
    return {k: row[prefix + k] for k in FIGURES}


def _summary_as_csv(summary: dict) -> dict[str, str]:
    return {k: "" if summary[k] is None else repr(float(summary[k])) if isinstance(summary[k], float)
            else str(summary[k]) for k in FIGURES}


def test_sweep_ranks_every_point_with_the_figures_replay_gives(tmp_path):
    out = tmp_path / "sweep"
    done = _run("sweep", "0001", "--data", str(SAMPLE), *GRID, "--out", str(out), "--workers", "2",
                "--keep", "2", "--no-progress", "--min-trades", "0")
    assert done.returncode == 0, done.stderr
    rows = _rows(out / "results.csv")
    assert len(rows) == 6
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert {(r["e_rsi_oversold"], r["x_rsi_overbought"]) for r in rows} == \
        {(a, b) for a in ("20", "30", "40") for b in ("60", "70")}
    sharpes = [float(r["sharpe"]) for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    assert "Sweep 0001: 6 points ranked by sharpe" in done.stdout

    # the best point through tradingbot replay: the very same figures
    best = rows[0]
    replay = _run("replay", "0001", "--data", str(SAMPLE), "--out", str(tmp_path / "replay"),
                  "--no-pictures", "--no-progress",
                  "--set", f"strategy.entry_logic.params.e_rsi_oversold={best['e_rsi_oversold']}",
                  "--set", f"strategy.exit_logic.params.x_rsi_overbought={best['x_rsi_overbought']}")
    assert replay.returncode == 0, replay.stderr
    summary = json.loads((tmp_path / "replay" / "metrics.json").read_text())["summary"]
    assert _figures(best) == _summary_as_csv(summary)

    kept = sorted(p.name for p in (out / "best").iterdir())
    assert kept == [f"01-{rows[0]['point']}", f"02-{rows[1]['point']}"]
    report = json.loads((out / "best" / kept[0] / "metrics.json").read_text())
    assert _summary_as_csv(report["summary"]) == _figures(best)
    assert report["provenance"]["overrides"] == [
        f"strategy.entry_logic.params.e_rsi_oversold={best['e_rsi_oversold']}",
        f"strategy.exit_logic.params.x_rsi_overbought={best['x_rsi_overbought']}"]
    definition = json.loads((out / "sweep.json").read_text())
    assert definition["points"] == 6 and definition["grid"][0]["values"] == [20, 30, 40]


def test_points_with_too_few_trades_are_listed_but_not_ranked(tmp_path):
    out = tmp_path / "sweep"
    done = _run("sweep", "0001", "--data", str(SAMPLE), *GRID, "--out", str(out), "--workers", "1",
                "--keep", "1", "--no-progress")  # --min-trades 10 by default
    assert done.returncode == 0, done.stderr
    rows = _rows(out / "results.csv")
    few = [r for r in rows if int(r["trades"]) < 10]
    assert few, "the grid's e_rsi_oversold=20 points trade twice on the sample"
    # the 2-trade point has the highest Sharpe of all, and still is not first
    assert max(float(r["sharpe"]) for r in few) > max(float(r["sharpe"]) for r in rows if r not in few)
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, len(rows) - len(few) + 1)] + [""] * len(few)
    assert rows[-len(few):] == few
    assert f"Sweep 0001: {len(rows) - len(few)} of 6 points ranked by sharpe" in done.stdout
    assert f"Not ranked: {len(few)} point(s) with fewer than 10 trades" in done.stdout
    assert [p.name for p in (out / "best").iterdir()] == [f"01-{rows[0]['point']}"]

    again = _run("sweep", "0001", "--data", str(SAMPLE), *GRID, "--out", str(out), "--no-progress",
                 "--min-trades", "0", "--keep", "0")  # re-ranked without re-running
    assert again.returncode == 0, again.stderr
    assert "6 done before, 0 to run" in again.stdout
    assert all(r["rank"] for r in _rows(out / "results.csv"))


class LineReader:
    """Reads a child's output stream line by line on a thread, so a test can wait for a line
    (bounded) and still have everything the child wrote once it ends."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._ended = False
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self._ended = True
            self._new.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether a line holding ``text`` arrived within ``timeout`` (False at end of stream)."""
        with self._new:
            self._new.wait_for(lambda: self._ended or any(text in line for line in self.lines), timeout)
            return any(text in line for line in self.lines)

    def text(self, timeout: float = 30) -> str:
        """All the stream held, once it has ended."""
        self._thread.join(timeout)
        return "".join(self.lines)


HOLD_AFTER = 3


def test_a_stopped_sweep_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "sweep"
    args = ["0001", "--data", str(SAMPLE), "--grid", "e_rsi_oversold=10:60:2", "--out", str(out),
            "--workers", "1", "--keep", "0", "--no-progress"]
    # the sweep holds still after its third point until it is interrupted (a test-only switch,
    # see trading.cli.sweep): the SIGINT reaches a running sweep, never one that has finished
    held_env = {**ENV, "TRADINGBOT_TEST_SWEEP_HOLD_AFTER": str(HOLD_AFTER)}
    # started as from a terminal, where Ctrl+C reaches it: a test run started in the background
    # of a script inherits SIGINT ignored, and so would the sweep
    first = subprocess.Popen(_command("sweep", *args), cwd=REPO, env=held_env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stderr = LineReader(first.stderr)
    try:
        held = stderr.wait_for(f"holding after {HOLD_AFTER} point(s)", timeout=240)
        if held:
            first.send_signal(signal.SIGINT)
            first.wait(timeout=120)
    finally:
        first.kill()  # nothing once it has ended; a sweep that never held must not outlive the test
        first.wait(timeout=30)
        first.stdout.close()
    err = stderr.text()
    assert held, f"the sweep never held after {HOLD_AFTER} points:\n{err}"
    assert first.returncode == 130, err
    before = _rows(out / "results.csv")
    assert len(before) == HOLD_AFTER
    assert f"{HOLD_AFTER} of 26 points are in" in err and "run the same command again to resume" in err
    assert "Traceback" not in err

    second = _run("sweep", *args)
    assert second.returncode == 0, second.stderr
    assert f"26 points ({HOLD_AFTER} done before, {26 - HOLD_AFTER} to run)" in second.stdout
    after = {r["point"]: r for r in _rows(out / "results.csv")}
    assert len(after) == 26
    for row in before:  # the points done before were kept, not run again
        assert after[row["point"]]["seconds"] == row["seconds"]


def test_out_of_sample_figures_stand_beside_the_in_sample_ones(tmp_path):
    out = tmp_path / "sweep"
    done = _run("sweep", "0001", "--data", str(SAMPLE), "--grid", "e_rsi_oversold=25,35",
                "--train-end", "2018-01-20", "--rank", "total_return", "--out", str(out),
                "--workers", "1", "--keep", "1", "--no-progress", "--min-trades", "0")
    assert done.returncode == 0, done.stderr
    rows = _rows(out / "results.csv")
    returns = [float(r["total_return_pct"]) for r in rows]
    assert returns == sorted(returns, reverse=True)  # ranked in sample
    assert all(r["oos_trades"] != "" for r in rows) and "oos return" in done.stdout
    best = out / "best" / f"01-{rows[0]['point']}"
    inside = json.loads((best / "in-sample" / "metrics.json").read_text())["summary"]
    outside = json.loads((best / "out-of-sample" / "metrics.json").read_text())["summary"]
    assert inside["end"] < "2018-01-20" <= outside["start"] == "2018-01-20T00:00:00Z"
    assert _summary_as_csv(outside) == _figures(rows[0], "oos_")
    assert _summary_as_csv(inside) == _figures(rows[0])


def test_invalid_grids_are_refused_before_anything_runs(tmp_path):
    out = tmp_path / "sweep"
    done = _run("sweep", "0001", "--data", str(SAMPLE), "--out", str(out),
                "--grid", "e_rsi_oversld=20:40:5", "--grid", "x_rsi_overbought=60:40:10")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "did you mean 'e_rsi_oversold'?" in done.stderr and "is empty" in done.stderr
    out_of_range = _run("sweep", "0001", "--data", str(SAMPLE), "--out", str(out),
                        "--grid", "e_rsi_oversold=90:110:10")
    assert out_of_range.returncode == 1
    assert ("strategy.entry_logic.params.e_rsi_oversold: must be <= 100, got 110 "
            "(from --grid e_rsi_oversold=110)") in out_of_range.stderr
    assert not out.exists()


def test_an_unreachable_cluster_is_explained(tmp_path):
    import socket
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    done = _run("sweep", "0001", "--data", str(SAMPLE), "--grid", "e_rsi_oversold=30",
                "--out", str(tmp_path / "s"), "--cluster", f"tcp://127.0.0.1:{port}",
                "--cluster-timeout", "2", "--no-progress")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in done.stderr


@pytest.fixture
def local_cluster():
    """A Dask scheduler and two worker processes on loopback, stopped after the test."""
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed "
                                      "(pip install 'dask[distributed]'); the cluster path is untested")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None, silence_logs=40)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close(timeout=30)


def test_a_cluster_sweep_gives_the_local_figures(tmp_path, local_cluster):
    common = ["0001", "--data", str(SAMPLE), *GRID, "--keep", "1", "--no-progress"]
    remote = _run("sweep", *common, "--out", str(tmp_path / "cluster"), "--cluster", local_cluster,
                  timeout=300)
    assert remote.returncode == 0, remote.stderr
    assert f"on the Dask cluster at {local_cluster} (2 workers, 2 threads)" in remote.stdout
    local = _run("sweep", *common, "--out", str(tmp_path / "local"), "--workers", "1")
    assert local.returncode == 0, local.stderr

    def figures(folder: str) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(tmp_path / folder / "results.csv")]

    assert figures("cluster") == figures("local")
    assert len(figures("cluster")) == 6
    assert (tmp_path / "cluster" / "best").exists()


def test_the_same_config_and_bytes_of_data_find_the_same_sweep_folder(tmp_path):
    copy = tmp_path / "elsewhere" / "bars.csv"
    copy.parent.mkdir()
    copy.write_bytes(SAMPLE.read_bytes())
    config = str(REPO / "config" / "trading" / "0001.json")
    args = ["--grid", "e_rsi_oversold=25,35", "--workers", "1", "--keep", "0", "--no-progress"]
    first = _run("sweep", config, "--data", str(SAMPLE), *args, cwd=tmp_path)
    again = _run("sweep", config, "--data", "elsewhere/bars.csv", *args, cwd=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    folders = list((tmp_path / "sweeps" / "0001").iterdir())
    assert len(folders) == 1  # sweeps/0001/<sweep key>/
    assert "2 points (2 done before, 0 to run)" in again.stdout
    other = _run("sweep", config, "--data", str(SAMPLE), *args, "--set", "trading.position_size=0.2",
                 cwd=tmp_path)
    assert other.returncode == 0 and len(list((tmp_path / "sweeps" / "0001").iterdir())) == 2


def test_a_basket_sweep_ranks_in_sample_and_replays_every_symbol_from_the_train_end_on(tmp_path):
    out = tmp_path / "sweep"
    done = _run("sweep", "0007", "--grid", "e_rsi_oversold=25,35", "--train-end", "2018-01-22",
                "--out", str(out), "--workers", "2", "--keep", "1", "--min-trades", "0", "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = _rows(out / "results.csv")
    assert len(rows) == 2 and all(r["oos_trades"] for r in rows)
    assert ("in sample 2018-01-10T04:55:00Z .. 2018-01-21T23:55:00Z, out of sample "
            "2018-01-22T00:00:00Z .. 2018-01-30T04:50:00Z") in done.stdout
    definition = json.loads((out / "sweep.json").read_text())
    assert list(definition["data"]["symbols"]) == ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]
    assert set(definition["split_bar"]) == set(definition["data"]["symbols"])
    [best] = (out / "best").iterdir()
    inside = json.loads((best / "in-sample" / "metrics.json").read_text())
    outside = json.loads((best / "out-of-sample" / "metrics.json").read_text())
    assert inside["summary"]["end"] < "2018-01-22" <= outside["summary"]["start"] == "2018-01-22T00:00:00Z"
    for files, cut in ((inside, "last"), (outside, "first")):  # every symbol cut at that time
        times = {f[cut] for f in files["provenance"]["data"]["symbols"].values()}
        assert times == ({"2018-01-21T23:55:00Z"} if cut == "last" else {"2018-01-21T15:40:00Z"})
    assert [r["symbol"] for r in outside["by_symbol"]] == list(definition["data"]["symbols"])
    assert _figures(rows[0], "oos_") == _summary_as_csv(outside["summary"])
