"""The sandbox a submission's kernel runs in: bubblewrap on Linux, and what is left without it.

The grader (:mod:`course_lib.instructor.grade`) starts each submission's Jupyter kernel through
:meth:`Sandbox.command`, which wraps the kernel's command line in ``bwrap`` (Debian's
``bubblewrap``, the sandbox Flatpak uses). Inside, the student's code sees:

- its own working folder (also its ``HOME`` and current directory) and a private ``/tmp``,
  writable, each an in-memory file system of at most :data:`TMPFS_MB` MB that vanishes with it;
- the Python environment, the ``course_lib`` package and the system's ``/usr``, read-only;
- nothing else of the machine: no other submission, no gradebook, no ``solutions/`` (the hidden
  tests reach the kernel as code in the kernel protocol's messages, never as a file), no home
  folder, no ``/proc`` of other processes;
- no network (a network namespace of its own: not even the machine's loopback);
- a PID namespace of its own: every process it starts dies with the kernel, and it can signal
  or trace no process outside (the grader's worker, another kernel);
- no capabilities, and a session of its own (no terminal to inject keystrokes into).

The kernel talks to the grader over Unix sockets in a folder both can see (ZeroMQ's ``ipc``
transport), since the sandbox has no network.

Where bubblewrap is missing or cannot create namespaces (macOS, Windows, a locked-down
container), :func:`find_bwrap` says why and the grader runs kernels unsandboxed, with what
protection remains (see the README's instructor section), unless told ``--require-sandbox``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Files of /etc a Python kernel reads (the dynamic loader's cache, fonts, time zone, user names).
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/fonts",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/mime.types",
)
#: Top-level folders that are links into /usr on a merged-/usr system, or folders of their own.
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Size of each of the sandbox's two writable folders (its working folder and /tmp), in MB: they
#: are in memory (tmpfs), so that a submission can fill neither the disk nor, beyond this, RAM.
TMPFS_MB = 256
#: Environment variables the kernel keeps from the grader's; everything else is dropped (an
#: instructor's tokens and keys stay outside).
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "XLA_FLAGS", "PYTHONHASHSEED")


def _course_lib_dir() -> Path:
    import course_lib

    return Path(course_lib.__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Sandbox:
    """One kernel's sandbox: ``workdir`` is its working folder (a private tmpfs at that path,
    like its /tmp: nothing written there reaches the machine's disk).

    ``shared`` folders are visible read-write at the same path (the folder of the kernel's
    sockets and connection file); ``readonly`` ones read-only (a JAX compilation cache that
    the instructor's solution filled). ``env`` is the kernel's whole environment.
    """

    bwrap: str
    workdir: Path
    shared: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()

    def command(self, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """``argv`` wrapped in bwrap, with the environment ``env`` (and nothing else) inside."""
        args = [
            self.bwrap,
            "--unshare-all",  # user (where possible), pid, net, ipc, uts, cgroup namespaces
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "grader-sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for top in SYSTEM_DIRS:
            path = Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
        for name in ETC_FILES:
            args += ["--ro-bind-try", name, name]
        # the private /tmp comes before the binds: a bound folder may lie under /tmp
        size = str(TMPFS_MB * 1024 * 1024)
        args += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/tmp"]
        seen: set[Path] = set()
        for path in (Path(sys.base_prefix), Path(sys.prefix), _course_lib_dir(), *self.readonly):
            path = path.resolve()
            if path in seen or path.is_relative_to("/usr"):
                continue
            seen.add(path)
            args += ["--ro-bind", str(path), str(path)]
        args += ["--size", size, "--tmpfs", str(self.workdir)]
        for path in self.shared:
            args += ["--bind", str(path), str(path)]
        args += ["--chdir", str(self.workdir), "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return [*args, "--", *argv]


def kernel_env(env: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """The kernel's environment inside a sandbox: the few variables it needs, HOME = workdir."""
    out = {key: env[key] for key in KEEP_ENV if key in env}
    out.update({k: v for k, v in env.items() if k.startswith(("JAX_", "MPLBACKEND"))})
    out["HOME"] = str(workdir)
    out["MPLCONFIGDIR"] = str(workdir / ".matplotlib")
    out["XDG_CACHE_HOME"] = str(workdir / ".cache")
    out.setdefault("PATH", "/usr/bin:/bin")
    out["PATH"] = f"{Path(sys.executable).parent}:{out['PATH']}"
    return out


@functools.cache
def find_bwrap() -> tuple[str | None, str]:
    """(path of a bwrap that can build the sandbox here, or None; and why not, in words)."""
    if not sys.platform.startswith("linux"):
        return None, f"bubblewrap runs only on Linux; this is {sys.platform}"
    path = os.environ.get("COURSE_BWRAP") or shutil.which("bwrap")
    if not path:
        return None, "bubblewrap (bwrap) is not installed (Debian, Ubuntu: apt install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as tmp:
        box = Sandbox(path, Path(tmp))
        env = kernel_env(os.environ, Path(tmp))
        probe = [sys.executable, "-c", "import course_lib, socket; socket.socket()"]
        try:
            done = subprocess.run(
                box.command(probe, env), capture_output=True, timeout=120, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"bwrap could not be run: {error}"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        return None, f"bwrap cannot build the sandbox on this machine ({why[0]})"
    return path, ""
