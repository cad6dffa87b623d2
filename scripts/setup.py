#!/usr/bin/env python3
"""Set up the virtual environment at `.venv` from `uv.lock`, on any `python3`.

    python3 scripts/setup.py [--via uv|module|fetched|venv|wheel] [--only-uv] [--quiet]

Works where `pip install uv` does not: Debian's own `python3` refuses it (PEP 668,
"externally-managed-environment"), and a fresh Debian often has neither `pip` nor `venv`. It
finds or fetches uv, the first way that works:

1. `uv` on PATH;
2. uv installed as a module of this Python (`python3 -m uv`);
3. uv fetched before by this script, in `.tools/`;
4. a private venv, `.tools/venv`, with uv from PyPI by its pip (honours pip's configuration:
   index, proxy, certificates);
5. uv's wheel from PyPI, checked against PyPI's SHA-256 and unpacked into `.tools/bin` (for a
   Python without `venv`/`ensurepip`; stdlib only).

Then `uv sync --frozen --compile-bytecode`: a new `.venv` gets this Python when it is 3.11 or
newer (else uv finds or fetches one); an existing one keeps its own. `--via` forces one way (for
tests of each), `--only-uv` stops after finding uv and prints its path. Exit status: uv's, or 1
with one `setup:` line saying why. Runs on Python 3.6+ so that an old `python3` still gets as far
as a clear message.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".tools"
PYPI = os.environ.get("IDEAFORGE_SETUP_PYPI", "https://pypi.org").rstrip("/")


class SetupError(Exception):
    pass


def say(message):
    print("setup: " + message, file=sys.stderr, flush=True)


def works(command):
    try:
        done = subprocess.run([*command, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return done.returncode == 0
    except OSError:
        return False


def uv_on_path():
    found = shutil.which("uv")
    return [found] if found and works([found]) else None


def uv_module():
    command = [sys.executable, "-m", "uv"]
    return command if works(command) else None


def uv_fetched_before():
    for candidate in (TOOLS / "bin" / "uv", TOOLS / "venv" / "bin" / "uv"):
        if candidate.exists() and works([str(candidate)]):
            return [str(candidate)]
    return None


def uv_from_private_venv():
    """uv by pip, in a venv of its own: PEP 668 allows that, and pip's own settings apply."""
    venv = TOOLS / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], stderr=subprocess.PIPE, text=True)
    if made.returncode != 0:
        say("no venv with pip here (" + (made.stderr.strip().splitlines() or ["venv failed"])[-1] + ")")
        return None
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    if subprocess.run([*pip, "install", "uv"]).returncode != 0:
        say("pip could not install uv into " + str(venv))
        return None
    uv = venv / "bin" / "uv"
    return [str(uv)] if works([str(uv)]) else None


def _wheel_tags():
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if sys.platform.startswith("linux") else "arm64"}.get(
        machine, machine
    )
    if sys.platform.startswith("linux"):
        libc = "manylinux" if platform.libc_ver()[0] == "glibc" else "musllinux"
        return lambda name: libc in name and name.endswith(machine + ".whl")
    if sys.platform == "darwin":
        return lambda name: "macosx" in name and (machine in name or "universal2" in name)
    raise SetupError("no uv wheel for " + sys.platform + ": install uv (https://docs.astral.sh/uv/) and run again")


def uv_from_wheel():
    """uv's own wheel from PyPI: the binary inside is all uv needs."""
    fits = _wheel_tags()
    index = PYPI + "/pypi/uv/json"
    with urllib.request.urlopen(index, timeout=60) as answer:
        release = json.load(answer)
    wheels = [f for f in release["urls"] if f["packagetype"] == "bdist_wheel" and fits(f["filename"])]
    if not wheels:
        raise SetupError("PyPI has no uv wheel for this machine (" + platform.machine() + ")")
    wheel = wheels[0]
    say("fetching " + wheel["filename"])
    with urllib.request.urlopen(urllib.parse.urljoin(index, wheel["url"]), timeout=300) as answer:  # mirrors: relative
        data = answer.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        raise SetupError("the uv wheel's SHA-256 does not match PyPI's: not using it")
    target = TOOLS / "bin" / "uv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".data/scripts/uv"))
        target.write_bytes(archive.read(member))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return [str(target)] if works([str(target)]) else None


WAYS = {
    "uv": uv_on_path,
    "module": uv_module,
    "fetched": uv_fetched_before,
    "venv": uv_from_private_venv,
    "wheel": uv_from_wheel,
}


def find_uv(via):
    tried = [via] if via else list(WAYS)
    for name in tried:
        uv = WAYS[name]()
        if uv:
            return uv
    raise SetupError("could not get uv (tried: " + ", ".join(tried) + "): install uv and run again")


def main():
    parser = argparse.ArgumentParser(description="Set up .venv from uv.lock with uv, found or fetched.")
    parser.add_argument("--via", choices=sorted(WAYS), help="only this way of finding uv")
    parser.add_argument("--only-uv", action="store_true", help="find uv, print its command, do not sync")
    parser.add_argument("--quiet", action="store_true", help="only errors from uv sync")
    args = parser.parse_args()
    try:
        uv = find_uv(args.via)
    except (SetupError, OSError, ValueError) as error:  # OSError: no network, a proxy refusing, a full disk
        say(str(error))
        return 1
    if args.only_uv:
        print(" ".join(uv))
        return 0
    command = [*uv, "sync", "--frozen", "--compile-bytecode"] + (["--quiet"] if args.quiet else [])
    if (REPO / ".venv").exists():
        pass  # uv keeps the venv's own Python while it fits requires-python
    elif sys.version_info >= (3, 11):
        command += ["--python", sys.executable]
    else:
        say("this python3 is " + platform.python_version() + "; uv picks a Python 3.11+ (fetching one if needed)")
    return subprocess.run(command, cwd=str(REPO)).returncode


if __name__ == "__main__":
    sys.exit(main())
