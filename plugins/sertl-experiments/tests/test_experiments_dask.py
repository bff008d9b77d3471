import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")


def test_local_cluster_runs_features_and_cells(
    synthetic_config, synthetic_data, tmp_path
):
    from joblib import parallel_config
    from sertl_experiments import FeatureSpec
    from sertl_experiments._dask import dask_client
    from sertl_experiments._data import extract_features
    from sertl_experiments._recipes import Recipe
    from sertl_experiments._runner import run_experiment
    from sertl_experiments._selection import search
    from sertl_speech import load_sample

    files = list(load_sample("emodb")["file"][:4])
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        X, failed = extract_features(
            files, FeatureSpec(n_jobs=2), client=client, progress=False
        )
        assert X.shape[0] == 4 and np.isfinite(X).all() and not failed
        # cells of the matrix run as Dask tasks
        cfg = synthetic_config(methods=[{"name": "dss"}])
        res = run_experiment(
            cfg, data=synthetic_data, client=client, progress=False, log=lambda *_: None
        )
        assert res.n_computed == 4
        assert (pd.read_csv(cfg.output / "results.csv")["status"] == "ok").all()
        # GridSearchCV through joblib's Dask backend
        a, b = synthetic_data["a"], synthetic_data["b"]
        Xg = np.vstack([a.X, b.X])
        y = np.r_[a.y, np.full(len(b.y), "-1")]
        sd = np.r_[np.ones(len(a.y), int), -np.ones(len(b.y), int)]
        with parallel_config(backend="dask"):
            gs, names = search(
                [Recipe("no_adaptation", scaling="source"), Recipe("dss")],
                Xg,
                y,
                sd,
                n_jobs=-1,
            )
        assert names[gs.best_index_] in {"no_adaptation", "dss"}
        assert np.isfinite(gs.cv_results_["mean_test_importance_weighted"]).all()


def test_no_cluster_by_default():
    from sertl_experiments._dask import dask_client

    with dask_client() as client:
        assert client is None


def test_both_options_refused():
    from sertl_experiments._dask import dask_client
    from sertl_experiments._data import ExperimentError

    with (
        pytest.raises(ExperimentError, match="either --scheduler"),
        dask_client("tcp://127.0.0.1:1", 2),
    ):
        pass
