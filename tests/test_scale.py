"""Reading over a Dask cluster gives what `digits predict --json` gives, file for file."""

from __future__ import annotations

import json
import math

import pytest

from conftest import ink_on_paper, run_digits

distributed = pytest.importorskip("dask.distributed")


def same(mine: object, theirs: object) -> bool:
    """Equal, field for field, but for float32 rounding in the probabilities: a worker's BLAS runs
    one thread, `predict`'s as many as there are cores, and sums in another order."""
    if isinstance(mine, float) and isinstance(theirs, float):
        return math.isclose(mine, theirs, abs_tol=1e-6)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(same(a, b) for a, b in zip(mine, theirs, strict=True))
    return mine == theirs


def test_a_two_worker_cluster_reads_600_files_as_predict_does(tmp_path):
    from digits.read.datasets import TEST_DIR, load_idx_dir
    from digits.read.scale import read_files

    digits = load_idx_dir(TEST_DIR, "t10k")  # the official test digits, bundled with digits
    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(600):
        ink_on_paper(digits.images[i]).save(scans / f"{i:05d}.png")
    (scans / "00007.png").write_text("not a picture")  # a bad file: its line says so, the rest are read
    expected = [json.loads(line) for line in run_digits("predict", str(scans), "--json").stdout.splitlines()]

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):
        written = read_files([scans], tmp_path / "readings", files_per_part=256)
    assert [path.name for path in written] == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    got = [json.loads(line) for path in written for line in path.read_text().splitlines()]

    assert len(got) == len(expected) == 600
    for mine, theirs in zip(got, expected, strict=True):
        assert same(mine, theirs), (mine, theirs)
    assert got[7]["failed"] and "not a picture digits can read" in got[7]["error"]
