"""The up-front memory check that methods call before a large allocation."""

import os
import sys

import pytest

import sertl_core.utils
from sertl_core.utils import available_memory, check_memory


def test_check_memory_refuses_with_the_estimate_the_room_and_the_fix():
    with pytest.raises(
        MemoryError,
        match=(
            r"^a 50,000 x 50,000 kernel: about 20\.0 GB of memory, more than the "
            r"6\.4 GB available now\. Use fewer rows\.$"
        ),
    ):
        check_memory(
            8 * 50_000**2,
            "a 50,000 x 50,000 kernel",
            "Use fewer rows.",
            available=6_400_000_000,
        )


def test_check_memory_passes_what_fits():
    assert check_memory(100, "a small step", "nothing", available=100) is None


def test_check_memory_asks_the_system_and_checks_nothing_when_it_cannot_say(
    monkeypatch,
):
    monkeypatch.setattr(sertl_core.utils, "_NEVER_REFUSED", 0)
    monkeypatch.setattr(sertl_core.utils, "available_memory", lambda: 1000)
    with pytest.raises(MemoryError, match=r"about 0\.002 MB .* 0\.001 MB available"):
        check_memory(2000, "a step", "Do less.")
    monkeypatch.setattr(sertl_core.utils, "available_memory", lambda: None)
    assert check_memory(10**30, "a step", "Do less.") is None


def test_check_memory_never_refuses_a_small_step_on_the_systems_estimate(
    monkeypatch,
):
    # The system's figure can read ~0 for memory the kernel would still give
    # (reclaimable caches, swap): a step of at most 100 MB is not refused on
    # it, a larger one is, and an explicit figure is compared exactly.
    monkeypatch.setattr(sertl_core.utils, "available_memory", lambda: 0)
    assert check_memory(10**8, "a 100 MB step", "Do less.") is None
    assert check_memory(5 * 10**6, "a 5 MB step", "Do less.") is None
    with pytest.raises(MemoryError, match=r"^a 101 MB step: about 101 MB .* 0 MB"):
        check_memory(101 * 10**6, "a 101 MB step", "Do less.")
    with pytest.raises(MemoryError, match=r"^a 5 MB step: about 5 MB"):
        check_memory(5 * 10**6, "a 5 MB step", "Do less.", available=10**6)


def test_meminfo_gives_the_kernels_estimate_in_bytes(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text(
        "MemTotal:       24576000 kB\nMemFree:  1000 kB\nMemAvailable:   20000000 kB\n"
    )
    assert sertl_core.utils._meminfo_available(str(path)) == 20_000_000 * 1024
    path.write_text("MemTotal:       24576000 kB\n")  # a kernel before 3.14
    assert sertl_core.utils._meminfo_available(str(path)) is None
    assert sertl_core.utils._meminfo_available(str(tmp_path / "none")) is None


def test_cgroup_limit_gives_the_room_left_under_it(tmp_path):
    (tmp_path / "memory.max").write_text("8000000000\n")
    (tmp_path / "memory.current").write_text("3000000000\n")
    assert sertl_core.utils._cgroup_available(str(tmp_path)) == 5_000_000_000
    (tmp_path / "memory.max").write_text("max\n")  # no limit
    assert sertl_core.utils._cgroup_available(str(tmp_path)) is None
    assert sertl_core.utils._cgroup_available(str(tmp_path / "none")) is None


def test_cgroup_room_counts_the_page_cache_the_kernel_can_drop(tmp_path):
    # A container that has read its corpus: memory.current is near the
    # limit, most of it the files' page cache, which an allocation reclaims.
    # Counting that cache as used refused even a few-MB step.
    (tmp_path / "memory.max").write_text("8000000000\n")
    (tmp_path / "memory.current").write_text("7900000000\n")
    (tmp_path / "memory.stat").write_text(
        "anon 1500000000\nfile 6300000000\nactive_file 2300000000\n"
        "inactive_file 4000000000\n"
    )
    assert sertl_core.utils._cgroup_available(str(tmp_path)) == 4_100_000_000
    (tmp_path / "memory.stat").write_text("anon 1500000000\n")  # no such line
    assert sertl_core.utils._cgroup_available(str(tmp_path)) == 100_000_000


def test_address_space_limit_gives_the_room_left_under_it(monkeypatch, tmp_path):
    resource = pytest.importorskip("resource")  # POSIX only
    statm = tmp_path / "statm"
    statm.write_text("1000 200 100 1 0 50 0\n")  # virtual size: 1000 pages
    page = os.sysconf("SC_PAGE_SIZE")
    limit = 1000 * page + 5 * 10**9
    monkeypatch.setattr(resource, "getrlimit", lambda which: (limit, limit))
    assert sertl_core.utils._rlimit_available(str(statm)) == 5 * 10**9
    inf = resource.RLIM_INFINITY
    monkeypatch.setattr(resource, "getrlimit", lambda which: (inf, inf))
    assert sertl_core.utils._rlimit_available(str(statm)) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's files")
def test_linux_takes_the_smallest_of_meminfo_cgroup_and_ulimit(monkeypatch):
    u = sertl_core.utils
    monkeypatch.setattr(u, "_meminfo_available", lambda: 9 * 10**9)
    monkeypatch.setattr(u, "_cgroup_available", lambda: 2 * 10**9)
    monkeypatch.setattr(u, "_rlimit_available", lambda: 3 * 10**9)
    assert available_memory() == 2 * 10**9
    monkeypatch.setattr(u, "_cgroup_available", lambda: None)
    assert available_memory() == 3 * 10**9
    monkeypatch.setattr(u, "_rlimit_available", lambda: None)
    assert available_memory() == 9 * 10**9
