"""Save and load a :class:`~sim.trajectory.Trajectory`: one ``.npz`` of arrays plus JSON metadata, never pickle.

The metadata (format, config, engine, divergence, extra, the data's d) is a JSON string stored as a 0-d
unicode array; it also holds the SHA-256 of every array, so a truncated or tampered file is an error naming
the file, not a run with different numbers.  ``save`` never overwrites a file (``overwrite=True`` to allow).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import SimConfig
from .data import Dataset
from .errors import ConfigError
from .init import Init

FORMAT = "nearorth-trajectory/1"
ARRAYS = ("times", "loss", "margins", "lprime", "rho_flat", "preact_flat", "norms2_flat", "fro2", "spec2",
          "changes_flat", "last_change_flat")
OPTIONAL = ("n_changes", "cum_G", "data_X", "init_W0")


class TrajectoryFileError(ConfigError):
    """A trajectory file that cannot be read back exactly; the message names the file."""


def _digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(str((a.dtype.str, a.shape)).encode() + a.tobytes()).hexdigest()


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return {"float": repr(v)}
    return v


def _unjson(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"float"}:
            return float(v["float"])
        return {k: _unjson(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unjson(x) for x in v]
    return v


def save(traj: Any, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``traj`` to ``path`` (``.npz`` appended if missing); returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: a saved run is never overwritten (pass overwrite=True to replace it)")
    arrays = {k: np.asarray(getattr(traj, k)) for k in ARRAYS}
    if traj.n_changes is not None:
        arrays["n_changes"] = np.asarray(traj.n_changes)
    if traj.cum_G is not None:
        arrays["cum_G"] = np.asarray(traj.cum_G)
    arrays["data_G"], arrays["data_y"] = traj.data.G, traj.data.y
    if traj.data.X is not None:
        arrays["data_X"] = traj.data.X
    arrays["init_P0"], arrays["init_K0"] = traj.init.P0, traj.init.K0
    if traj.init.W0 is not None:
        arrays["init_W0"] = traj.init.W0
    meta = {"format": FORMAT, "config": traj.config.to_dict(), "engine": traj.engine,
            "diverged_at": traj.diverged_at, "d": int(traj.data.d), "extra": _jsonable(dict(traj.extra)),
            "sha256": {k: _digest(v) for k, v in arrays.items()}}
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
    if path.exists() and not overwrite:  # another writer took the name meanwhile
        tmp.unlink()
        raise FileExistsError(f"{path} exists: a saved run is never overwritten")
    tmp.replace(path)
    return path


def load(cls: Any, path: str | Path) -> Any:
    """Read a file written by :func:`save` as a ``cls`` (``Trajectory``); every problem is a
    :class:`TrajectoryFileError` naming the file."""
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):  # np.load would call it "pickled (object) data"
        raise TrajectoryFileError(f"{path}: not a readable trajectory file (not an .npz archive; Trajectory.save "
                                  f"writes those)")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise TrajectoryFileError(f"{path}: not a readable trajectory file ({type(e).__name__}: {e})") from None
    if "meta" not in files:
        raise TrajectoryFileError(f"{path}: no metadata (not written by Trajectory.save)")
    try:
        meta = json.loads(str(files.pop("meta")))
    except json.JSONDecodeError as e:
        raise TrajectoryFileError(f"{path}: metadata is not JSON: {e}") from None
    if meta.get("format") != FORMAT:
        raise TrajectoryFileError(f"{path}: format must be {FORMAT!r}; got {meta.get('format')!r}")
    need = set(ARRAYS) | {"data_G", "data_y", "init_P0", "init_K0"}
    missing = sorted(need - set(files))
    if missing:
        raise TrajectoryFileError(f"{path}: missing arrays {missing}")
    sums = meta.get("sha256", {})
    for k, v in files.items():
        if sums.get(k) != _digest(v):
            raise TrajectoryFileError(f"{path}: array {k!r} does not match its checksum (the file was altered)")
    try:
        cfg = SimConfig.from_dict(meta["config"])
        X = files.get("data_X")
        data = (Dataset.from_X(X, files["data_y"]) if X is not None
                else Dataset.virtual(files["data_G"], files["data_y"], int(meta["d"])))
        init = Init(P0=files["init_P0"], K0=files["init_K0"], W0=files.get("init_W0"))
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise TrajectoryFileError(f"{path}: invalid configuration or data: {e}") from None
    T = files["times"].shape[0]
    for k in ARRAYS:
        if files[k].shape[:1] != (T,) and k not in ("changes_flat", "last_change_flat"):
            raise TrajectoryFileError(f"{path}: array {k!r} has {files[k].shape[0]} checkpoints, times has {T}")
    return cls(config=cfg, data=data, init=init, engine=str(meta["engine"]),
                      **{k: files[k] for k in ARRAYS}, n_changes=files.get("n_changes"), cum_G=files.get("cum_G"),
                      diverged_at=meta.get("diverged_at"), extra=_unjson(meta.get("extra", {})))
