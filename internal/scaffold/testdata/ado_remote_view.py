"""Print, as JSON, what ado --remote itself does with a remote context.

Usage: python ado_remote_view.py JOBS.json

JOBS.json is a list of {"file": REMOTE_CONTEXT, "cwd": DIR, "out": OUT}: the
view of FILE, as ado --remote run in DIR sees it, is written to OUT (ado
prints progress on stdout, so the view goes to a file). One process serves
every job, since importing ado takes seconds.

Runs ado-core's own code on the file: RemoteExecutionContext validation,
_build_source_wheels (with `uv build` replaced by a recorder, so nothing is
built), _symlink_additional_files and _write_runtime_env, in a throw-away
working directory. The adopipe test compares this view with the manifest
that `adopipe init --from-ado-remote` writes for the same file.
"""

import importlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

import yaml

from ado.core.remotecontext.config import (
    ClusterExecutionType,
    JobExecutionType,
    RemoteExecutionContext,
)

# The module, not the function of the same name the package exports.
dispatch = importlib.import_module("ado.cli.utils.remote.dispatch")

WORKING_DIR_VAR = "${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}/"


class NotAProject(Exception):
    pass


def source_dirs(from_source, cwd, working_dir):
    """The directories ado runs `uv build` in, found by ado's own code."""
    built = []

    def record(cmd, cwd=None, **kwargs):
        d = pathlib.Path(cwd).resolve()
        if not (d / "pyproject.toml").is_file() and not (d / "setup.py").is_file():
            # uv build fails here, and so does ado --remote.
            raise NotAProject(f"uv build: {d} is not a Python project")
        built.append(str(d))
        return subprocess.CompletedProcess(cmd, 1, "", "not built: recorded only")

    real_run = dispatch.subprocess.run
    dispatch.subprocess.run = record
    try:
        for entry in from_source:
            try:
                dispatch._build_source_wheels([entry], working_dir, cwd)
            except RuntimeError:
                pass  # the recorder's "failed build"
    finally:
        dispatch.subprocess.run = real_run
    return built


def staged_files(working_dir):
    """The files ado's symlinks in the working directory lead to."""
    out = []
    for entry in sorted(working_dir.iterdir()):
        if not entry.is_symlink():
            continue
        target = pathlib.Path(os.readlink(entry))
        if target.is_dir():
            out += [str(p) for p in sorted(target.rglob("*")) if p.is_file()]
        else:
            out.append(str(target))
    return out


def view(path, cwd):
    ctx = RemoteExecutionContext.model_validate(yaml.safe_load(open(path)))
    out = {"wait": ctx.wait}
    et = ctx.executionType
    if isinstance(et, JobExecutionType):
        raise NotImplementedError("executionType job: ado's dispatch refuses it")
    if isinstance(et, ClusterExecutionType):
        url = et.clusterUrl.unicode_string()
        out["cluster_url"] = url
        if et.portForward is not None:
            out["port_forward"] = {
                "namespace": et.portForward.namespace,
                "service": et.portForward.serviceName,
                "local_port": et.portForward.localPort,
                "service_port": urlparse(url).port or 8265,
            }
    with tempfile.TemporaryDirectory(prefix="ado-remote-view-") as tmp:
        working_dir = pathlib.Path(tmp)
        out["from_source"] = source_dirs(ctx.packages.fromSource, cwd, working_dir)
        seen = set()
        dispatch._symlink_additional_files(ctx.additionalFiles, cwd, working_dir, seen)
        out["files"] = staged_files(working_dir)
        runtime_env = working_dir / "runtime_env.yaml"
        dispatch._write_runtime_env(ctx, [], runtime_env, cwd, working_dir, seen)
        env = yaml.safe_load(runtime_env.read_text()) or {}
    uv = env.get("uv", [])
    out["requirements"] = [r for r in uv if not r.startswith(WORKING_DIR_VAR)]
    rewritten = [
        str((cwd / e).resolve()) for e, r in zip(ctx.packages.fromPyPI, uv) if e != r
    ]
    out["local_wheels"] = rewritten
    out["env_vars"] = env.get("env_vars", {})
    out["config"] = env.get("config")
    return out


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        try:
            out = view(job["file"], pathlib.Path(job["cwd"]))
        except Exception as e:  # noqa: BLE001 - any refusal is the answer
            out = {"error": f"{type(e).__name__}: {e}"}
        with open(job["out"], "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
