"""Registry of the data shipped with the project: the sample workspace and policy files.

One function per dataset, so no module hard-codes a path into ``data/``
(like ``momepy.datasets``). The data folder is ``data/`` beside the package
in a source checkout; set ``RENOV_DATA_DIR`` to use another copy.
"""

from __future__ import annotations

import os
from pathlib import Path

from gislib.errors import WorkspaceError

__all__ = ["data_dir", "policy_path", "sample_workspace_path"]

_DATA_DIR_ENV = "RENOV_DATA_DIR"
_SAMPLE_WORKSPACE = Path("sample") / "yangjiang.gpkg"


def data_dir() -> Path:
    """The project's data folder (``$RENOV_DATA_DIR`` or ``data/`` of the checkout).

    Raises
    ------
    WorkspaceError
        The folder does not exist.
    """
    env = os.environ.get(_DATA_DIR_ENV)
    folder = Path(env) if env else Path(__file__).resolve().parent.parent / "data"
    if not folder.is_dir():
        raise WorkspaceError(
            f"找不到数据目录 {folder}，请设置环境变量 {_DATA_DIR_ENV} / data folder {folder} "
            f"not found; set {_DATA_DIR_ENV}"
        )
    return folder


def sample_workspace_path() -> Path:
    """Path of the committed sample Yangjiang workspace (synthetic data; read-only use).

    Never open it for writing: :func:`gislib.store.resolve_workspace` copies it.

    Raises
    ------
    WorkspaceError
        The sample is missing (rebuild it with ``scripts/build_sample_data.py``).
    """
    path = data_dir() / _SAMPLE_WORKSPACE
    if not path.is_file():
        raise WorkspaceError(
            f"样例工作区 {path} 不存在，请运行 uv run python scripts/build_sample_data.py / "
            f"sample workspace {path} is missing; rebuild it with scripts/build_sample_data.py"
        )
    return path


#: The policy used when none is named: the Yangjiang 2021-2025 plan.
DEFAULT_POLICY = "yangjiang-2021-2025"


def policy_path(name: str = DEFAULT_POLICY) -> Path:
    """Path of a shipped policy file ``data/policies/<name>.toml``.

    Raises
    ------
    WorkspaceError
        No such policy; the message lists the shipped ones.
    """
    folder = data_dir() / "policies"
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml"))
        raise WorkspaceError(f"没有政策文件 {name!r} / no policy {name!r}; shipped: {known}")
    return path
