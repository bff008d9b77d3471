"""The real EmoDB/RAVDESS sample shipped inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from sertl_speech import load_sample, sample_path


@pytest.mark.parametrize(("corpus", "language"), [("emodb", "de"), ("ravdess", "en")])
def test_sample_is_balanced_real_and_small(corpus, language):
    table = load_sample(corpus)
    assert len(table) == 48
    assert sorted(table["emotion"].unique()) == [
        "anger",
        "happiness",
        "neutral",
        "sadness",
    ]
    assert table.groupby("emotion").size().tolist() == [12, 12, 12, 12]
    assert table["speaker"].nunique() == 6
    assert set(table["gender"]) == {"female", "male"}
    assert set(table["language"]) == {language}
    assert (table["duration"] > 0.5).all()
    assert all(sf.info(f).samplerate == 16000 for f in table["file"])


def test_sample_size_and_attribution():
    root = sample_path("emodb").parent
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 4_000_000
    text = (root / "ATTRIBUTION.md").read_text()
    for needed in ("Burkhardt", "Livingstone", "CC BY-NC-SA 4.0", "Interspeech 2005"):
        assert needed in text
    for corpus in ("emodb", "ravdess"):
        assert (sample_path(corpus) / "LICENSE.txt").is_file()


def test_sample_filter_and_errors():
    assert set(load_sample("ravdess", emotions=["anger"])["emotion"]) == {"anger"}
    with pytest.raises(ValueError, match="samples exist for"):
        sample_path("iemocap")


def test_sample_is_package_data():
    import sertl_speech

    assert sample_path("ravdess").is_relative_to(Path(sertl_speech.__file__).parent)
