"""Atomic writes: whole files or nothing, readable like any other file the user writes."""

from __future__ import annotations

import os
import stat

import pytest

from biaslearn import atomic


def test_written_file_has_umask_permissions(tmp_path):
    path = atomic.write_json(tmp_path / "a.json", {"x": 1})
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o666 & ~atomic._umask()
    assert mode & stat.S_IRUSR and mode & stat.S_IWUSR


def test_failed_writer_leaves_no_file_and_no_temporary(tmp_path):
    atomic.write_text(tmp_path / "keep.txt", "old")

    def broken(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic.write_with(tmp_path / "keep.txt", broken)
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
