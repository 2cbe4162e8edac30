"""Reindexing survives SIGKILL and a full disk: the current index always stays complete and serving."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.versions import BuildError, current_dir, current_version
from bot.service.answering import AnswerService

REPO = Path(__file__).resolve().parents[1]


def test_killing_reindex_at_random_moments_never_breaks_the_current_index():
    # The full run (20 kills, documented in the README) takes about a minute; 4 here.
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "crash_test.py"), "--kills", "4", "--seed", "7"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "crash test: 4 of 4 kills safe" in proc.stdout
    assert ", 0 failed; final reindex ok" in proc.stdout


def _mount_tmpfs(path: Path, size_kb: int) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_full_disk_during_reindex_keeps_the_old_index_serving(workspace, tmp_path):
    cfg = load_config(workspace)
    build_index(cfg)
    size_kb = sum(f.stat().st_size for f in current_dir(cfg.index.dir).rglob("*") if f.is_file()) // 1024
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, size_kb + size_kb // 2):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        shutil.copytree(cfg.index.dir, disk / "index")
        cfg.index.dir = disk / "index"
        good = current_version(cfg.index.dir)
        service = AnswerService(cfg, build_if_missing=False)
        with pytest.raises(BuildError) as err:
            build_index(cfg, full=True)
        assert "No space left on device" in str(err.value)
        assert "the current index is unchanged" in str(err.value)
        assert current_version(cfg.index.dir) == good
        assert not list((cfg.index.dir / "versions").glob(".building-*"))  # the partial build was removed
        assert service.answer("Kết luận 21").found
        assert AnswerService(cfg, build_if_missing=False).answer("quy định 37").found
    finally:
        service = None
        gc.collect()  # release open index files before unmounting
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_permission_error_during_reindex_keeps_the_old_index_serving(workspace):
    cfg = load_config(workspace)
    good = build_index(cfg).version
    versions = cfg.index.dir / "versions"
    # immutable: even root may not create the new version's folder there
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(versions)],
                                                        capture_output=True).returncode != 0:
        pytest.skip("needs chattr on a filesystem that supports it")
    try:
        with pytest.raises(BuildError) as err:
            build_index(cfg, full=True)
        assert "Operation not permitted" in str(err.value) and "the current index is unchanged" in str(err.value)
        assert current_version(cfg.index.dir) == good
        assert AnswerService(cfg, build_if_missing=False).answer("Kết luận 21").found
    finally:
        subprocess.run(["chattr", "-i", str(versions)], capture_output=True)
