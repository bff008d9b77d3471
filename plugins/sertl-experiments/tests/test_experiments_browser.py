"""The report opened in a real headless browser (Debian package ``chromium``)."""

import json
import re
import shutil
import subprocess
import sys

import pytest
from sertl_experiments._runner import run_experiment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="needs chromium: apt-get install -y chromium"
)
def test_report_renders_every_plot_and_table(
    synthetic_config, synthetic_data, tmp_path
):
    cfg = synthetic_config()
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lambda *_: None)
    html = res.report.read_text()
    manifest = json.loads(
        re.search(
            r"<script type='application/json' id='sertl-manifest'>(.*?)</script>", html
        ).group(1)
    )
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        res.report.as_uri(),
    ]
    dom = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body))
    n_figs = len(manifest["figures"])
    assert n_figs >= 7
    # every image decoded by the browser (naturalWidth > 0), every table present
    assert int(attrs["data-images-total"]) == n_figs
    assert int(attrs["data-images-ok"]) == n_figs
    assert int(attrs["data-tables"]) >= len(manifest["tables"])
    for fid in manifest["figures"] + manifest["tables"]:
        assert f'id="{fid}"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'p2'}",
            f"--screenshot={shot}",
            "--window-size=1200,2400",
            res.report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    """``sertl demo`` on the shipped sample: report, model, prediction, no traceback."""
    out = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sertl_experiments",
            "demo",
            "--output",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert (out / "report.html").is_file() and (out / "model.skops").is_file()
    assert "mean UAR over 2 pair(s)" in proc.stdout
    # which of the compared methods the model is
    assert re.search(r"^model: \S+model\.skops \(method dss, ", proc.stdout, re.M)
    line = [
        ln for ln in proc.stdout.splitlines() if ln.startswith("label new speech:")
    ][0]
    audio = line.split()[-1]
    pred = subprocess.run(
        [
            sys.executable,
            "-m",
            "sertl_experiments",
            "predict",
            str(out / "model.skops"),
            audio,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pred.returncode == 0, pred.stderr
    row = json.loads(pred.stdout)["predictions"][0]
    assert row["emotion"] in {"anger", "happiness", "neutral", "sadness"}
