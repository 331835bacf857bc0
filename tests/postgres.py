"""A throwaway PostgreSQL cluster for the tests, started from the machine's binaries.

``initdb`` + ``pg_ctl`` in a temporary directory, listening only on a Unix socket, with
durability off (it is thrown away). PostgreSQL refuses to run as root, so under root (as in CI)
the cluster runs as the ``postgres`` system user, or ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries on this machine, or the cluster would not start."""


def find_bindir() -> Path | None:
    """Directory holding initdb and pg_ctl: $PG_BINDIR, Debian's layout, or the PATH."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).resolve().parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


@dataclass
class Cluster:
    """A running throwaway cluster."""

    bindir: Path
    root: Path
    user: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3) of ``database`` on this cluster."""
        return f"postgresql+psycopg://libext@/{database}?host={self.socket_dir}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> None:
        """initdb and start; raises PostgresUnavailable with the server's words on failure."""
        result = self._run(
            "initdb", "-D", str(self.datadir), "-A", "trust", "-U", "libext",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()}")
        options = (
            f"-k {self.socket_dir} -c listen_addresses='' -F "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.datadir), "-o", options, "-w", "-t", "60",
            "-l", str(self.root / "server.log"), "start",
        )  # fmt: skip
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()}\n{log}")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """Start a cluster in a new temporary directory (short path: socket names are limited)."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl) found: install Debian's "
            "'postgresql' package (make test does) or set PG_BINDIR"
        )
    root = Path(tempfile.mkdtemp(prefix="libext-pg-", dir="/tmp"))
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            os.chown(root, entry.pw_uid, entry.pw_gid)
            break
        else:
            raise PostgresUnavailable("running as root and no 'postgres' or 'nobody' user")
    os.chmod(root, 0o700)
    cluster = Cluster(bindir=bindir, root=root, user=user)
    try:
        cluster.start()
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
