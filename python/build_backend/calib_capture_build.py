"""A small PEP 517 / PEP 660 build backend for this pure-Python package.

Why not setuptools.build_meta: setuptools before 70.1 cannot build a wheel unless the separate
``wheel`` package is installed, and many machines (this project's among them) have such a
setuptools and no ``wheel``; an isolated build that must fetch a newer setuptools fails offline.
This backend needs nothing but the standard library: it reads pyproject.toml with ``tomllib``
(Python 3.11+), else ``tomli`` (which ``[build-system] requires`` names for older Pythons) or the
copy vendored in setuptools, else a minimal reader of its own. So ``pip install ./python`` and
``pip install --no-build-isolation ./python`` both work offline (on Python < 3.11 an isolated build
fetches tomli).

It reads the ``[project]`` table of pyproject.toml and writes a ``py3-none-any`` wheel of the
``calib_capture`` package, an editable wheel (a ``.pth`` file), or an sdist.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "calib_capture"


def _toml() -> Any:
    try:
        import tomllib  # Python 3.11+

        return tomllib
    except ImportError:
        pass
    try:
        import tomli

        return tomli
    except ImportError:
        pass
    for vendored in ("setuptools.extern.tomli", "setuptools._vendor.tomli"):
        try:
            module = __import__(vendored, fromlist=["loads"])
            return module
        except ImportError:
            continue
    return None


def _minimal_toml(text: str) -> Dict[str, Any]:
    """Just enough TOML for this project's pyproject.toml: [tables], strings, arrays of strings.

    Used only on Python < 3.11 without tomli (a --no-build-isolation build there).
    """
    import ast
    import re

    root: Dict[str, Any] = {}
    table = root
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending and line.startswith("["):
            table = root
            for part in line.strip("[]").split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        pending = (pending + " " + line).strip()
        key, _, value = pending.partition("=")
        value = value.strip()
        if value.startswith("[") and value.count("[") > value.count("]"):
            continue  # an array that goes on over the next lines
        value = re.sub(r",\s*\]$", "]", re.sub(r"#[^\"']*$", "", value).strip())
        table[key.strip().strip('"')] = ast.literal_eval(value.replace("true", "True").replace("false", "False"))
        pending = ""
    return root


def _project() -> Dict[str, Any]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        text = f.read().decode("utf-8")
    toml = _toml()
    return (toml.loads(text) if toml is not None else _minimal_toml(text))["project"]


def _dist_name(project: Dict[str, Any]) -> str:
    return project["name"].replace("-", "_")


def _metadata(project: Dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    if project.get("keywords"):
        lines.append(f"Keywords: {','.join(project['keywords'])}")
    for classifier in project.get("classifiers", []):
        lines.append(f"Classifier: {classifier}")
    for requirement in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {requirement}")
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for requirement in requirements:
            lines.append(f'Requires-Dist: {requirement} ; extra == "{extra}"')
    readme = project.get("readme")
    body = ""
    if isinstance(readme, str) and os.path.exists(os.path.join(ROOT, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _entry_points(project: Dict[str, Any]) -> str:
    scripts = project.get("scripts", {})
    if not scripts:
        return ""
    return "[console_scripts]\n" + "".join(f"{name} = {target}\n" for name, target in scripts.items())


def _package_files() -> List[Tuple[str, str]]:
    """(archive name, path) of every file of the package: .py files and py.typed."""
    found = []
    base = os.path.join(ROOT, PACKAGE)
    for directory, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py") or name == "py.typed":
                path = os.path.join(directory, name)
                found.append((os.path.relpath(path, ROOT).replace(os.sep, "/"), path))
    return found


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(directory: str, contents: List[Tuple[str, bytes]], project: Dict[str, Any]) -> str:
    dist = _dist_name(project)
    info = f"{dist}-{project['version']}.dist-info"
    contents = list(contents) + [
        (f"{info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: calib_capture_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    entry_points = _entry_points(project)
    if entry_points:
        contents.append((f"{info}/entry_points.txt", entry_points.encode()))
    record = [_record_line(name, data) for name, data in contents] + [f"{info}/RECORD,,"]
    contents.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{dist}-{project['version']}-py3-none-any.whl"
    stamp = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")))[:6]
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return filename


# -- PEP 517 -------------------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    contents = []
    for name, path in _package_files():
        with open(path, "rb") as f:
            contents.append((name, f.read()))
    return _write_wheel(wheel_directory, contents, _project())


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    project = _project()
    pth = f"{_dist_name(project)}.pth"
    return _write_wheel(wheel_directory, [(pth, (ROOT + "\n").encode("utf-8"))], project)


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    filename = f"{base}.tar.gz"
    files = ["pyproject.toml", "README.md", "build_backend/calib_capture_build.py"] + [n for n, _ in _package_files()]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in files:
            path = os.path.join(ROOT, name)
            if os.path.exists(path):
                archive.add(path, arcname=f"{base}/{name}")
        pkg_info = _metadata(project).encode("utf-8")
        entry = tarfile.TarInfo(f"{base}/PKG-INFO")
        entry.size = len(pkg_info)
        entry.mtime = int(time.time())
        archive.addfile(entry, io.BytesIO(pkg_info))
    return filename
