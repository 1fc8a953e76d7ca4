"""Weights resolution order, md5 verification, atomic cached downloads, clear offline errors."""
from __future__ import annotations

import hashlib
import pytest

from seqzoo.weights import WeightsError, WeightsFile, resolve


def make_spec(tmp_path, content=b"published weights\n", name="w.h5"):
    src = tmp_path / "upstream" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(content)
    return WeightsFile(name, src.as_uri(), hashlib.md5(content).hexdigest()), src


def test_order_explicit_then_env_dir_then_cache_then_download(tmp_path, monkeypatch):
    spec, src = make_spec(tmp_path)
    env_dir, cache = tmp_path / "env", tmp_path / "cache"
    env_dir.mkdir()
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(env_dir))
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(cache))
    monkeypatch.delenv("SEQZOO_OFFLINE", raising=False)
    # nothing local: downloaded (file:// URL, no network) into the cache, md5-verified
    assert resolve(spec) == cache / "w.h5"
    assert (cache / "w.h5").read_bytes() == src.read_bytes()
    assert [p.name for p in cache.iterdir()] == ["w.h5"]  # no temporary file left behind
    # cache hit: works with the upstream gone
    src.unlink()
    assert resolve(spec) == cache / "w.h5"
    # env dir wins over the cache
    (env_dir / "w.h5").write_bytes(b"published weights\n")
    assert resolve(spec) == env_dir / "w.h5"
    # explicit path wins over everything, and is used even with another md5 (logged)
    mine = tmp_path / "mine.h5"
    mine.write_bytes(b"retrained")
    assert resolve(spec, mine) == mine


def test_wrong_md5_in_env_dir_names_file_url_and_fix(tmp_path, monkeypatch):
    spec, _ = make_spec(tmp_path)
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "w.h5").write_bytes(b"published weigh")  # truncated
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(env_dir))
    with pytest.raises(WeightsError) as err:
        resolve(spec)
    msg = str(err.value)
    assert str(env_dir / "w.h5") in msg and spec.url in msg and spec.md5 in msg
    assert "SEQZOO_WEIGHTS_DIR" in msg and "corrupted, truncated" in msg


def test_download_with_wrong_md5_caches_nothing(tmp_path, monkeypatch):
    spec, _ = make_spec(tmp_path)
    bad = WeightsFile(spec.filename, spec.url, "0" * 32)
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQZOO_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("SEQZOO_OFFLINE", raising=False)
    with pytest.raises(WeightsError, match="expected 0{32}.*nothing was cached"):
        resolve(bad)
    assert list((tmp_path / "cache").iterdir()) == []


def test_no_network_and_no_local_copy(tmp_path, monkeypatch):
    spec = WeightsFile("x.h5", "http://127.0.0.1:9/x.h5", "0" * 32)  # closed local port: refused at once
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQZOO_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("SEQZOO_OFFLINE", raising=False)
    with pytest.raises(WeightsError) as err:
        resolve(spec)
    msg = str(err.value)
    assert msg.startswith("Could not download 'x.h5' from http://127.0.0.1:9/x.h5")
    assert "SEQZOO_WEIGHTS_DIR" in msg and "--weights PATH" in msg


def test_weights_dir_that_does_not_exist_is_named_as_such(tmp_path, monkeypatch):
    spec, _ = make_spec(tmp_path)
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(tmp_path / "no_such_folder"))
    monkeypatch.setenv("SEQZOO_OFFLINE", "1")
    with pytest.raises(WeightsError) as err:
        resolve(spec)
    assert (f"$SEQZOO_WEIGHTS_DIR: {tmp_path / 'no_such_folder' / spec.filename} (not there; that folder does not "
            f"exist)") in str(err.value)
    assert err.value.short == (f"{spec.filename} is not in $SEQZOO_WEIGHTS_DIR ({tmp_path / 'no_such_folder'}, which "
                               f"does not exist) or the cache; get it from {spec.url}")


def test_offline_mode_refuses_to_download(tmp_path, monkeypatch):
    spec, _ = make_spec(tmp_path)
    monkeypatch.setenv("SEQZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQZOO_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("SEQZOO_OFFLINE", "1")
    with pytest.raises(WeightsError, match="downloads are off"):
        resolve(spec)


def test_missing_explicit_path(tmp_path):
    spec, _ = make_spec(tmp_path)
    with pytest.raises(WeightsError, match="does not exist"):
        resolve(spec, tmp_path / "nope.h5")


def test_two_processes_filling_the_cache_at_once(tmp_path):
    """Concurrent downloads into one cache: each verifies its own temp file and renames atomically,
    so the cache ends with exactly one whole file and no partial one."""
    import subprocess
    import sys
    content = bytes(range(256)) * 40_000  # 10 MB: both downloads overlap
    spec, _ = make_spec(tmp_path, content=content, name="big.h5")
    cache = tmp_path / "cache"
    code = ("import sys; from seqzoo.weights import WeightsFile, resolve; "
            f"print(resolve(WeightsFile('big.h5', {spec.url!r}, {spec.md5!r})))")
    env = {"SEQZOO_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert {o[0].strip() for o in outs} == {str(cache / "big.h5")}
    assert [p.name for p in cache.iterdir()] == ["big.h5"]
    assert (cache / "big.h5").read_bytes() == content
