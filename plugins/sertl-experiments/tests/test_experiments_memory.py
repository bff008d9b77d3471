"""A cell refused for its memory fails alone; sertl run goes on with the rest.

The memory available is lowered through ``sertl_core.utils.available_memory``
(the ``memory_available`` fixture), so nothing large is ever allocated.
"""

from sertl_experiments import run_experiment

TCA_EXACT = {
    "name": "tca_exact",
    "adapter": "tca",
    "params": {"tca": {"solver": "exact"}},
}


def test_a_cell_refused_for_memory_is_a_failed_cell_not_a_stopped_run(
    memory_available, synthetic_data, synthetic_config
):
    # before: the MemoryError of the first TCA cell ended run_experiment
    # (and sertl run) with a traceback; the other cells were not computed
    memory_available(0.5 * 10**6)  # room for the baseline, not for 5 n x n
    config = synthetic_config(
        methods=[{"name": "no_adaptation", "scaling": "source"}, TCA_EXACT]
    )
    res = run_experiment(
        config, data=synthetic_data, progress=False, log=lambda s: None
    )
    rows = res.results.set_index(["source", "target", "method"])
    tca = rows.xs("tca_exact", level="method")
    assert len(tca) == 2 and res.n_failed == 2
    assert (
        tca["error"]
        .str.contains("MemoryError: TCA with the exact solver on 180 rows", regex=False)
        .all()
    )
    assert tca["error"].str.contains("Use solver='lowrank'", regex=False).all()
    base = rows.xs("no_adaptation", level="method")
    assert base["uar"].notna().all()


def test_auto_passes_over_a_candidate_refused_for_memory(
    memory_available, synthetic_data, synthetic_config
):
    memory_available(0.5 * 10**6)
    auto = {
        "name": "auto",
        "method": "auto",
        "candidates": ["no_adaptation", "tca_exact"],
    }
    config = synthetic_config(
        methods=[{"name": "no_adaptation", "scaling": "source"}, TCA_EXACT, auto]
    )
    res = run_experiment(
        config, data=synthetic_data, progress=False, log=lambda s: None
    )
    rows = res.results.set_index(["source", "target", "method"])
    chosen = rows.xs("auto", level="method")
    assert chosen["uar"].notna().all()
    assert (chosen["selected"] == "no_adaptation").all(), chosen["selected"]
