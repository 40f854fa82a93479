"""A private PostgreSQL + PostGIS server for tests that stop and restart it.

The shared test server (GUNMANE_TEST_POSTGRES_URL) serves other tests in parallel, so the
restart tests get a throwaway cluster of their own: initdb into a temporary folder, a free
port on 127.0.0.1, trust authentication, no Unix socket outside that folder.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
PG_SHARE = Path("/usr/share/postgresql")


def find_bin_dir() -> Path | None:
    """The newest server version's bin folder that has initdb and the PostGIS extension."""
    if not PG_ROOT.is_dir():
        return None
    versions = sorted((p for p in PG_ROOT.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    for version in reversed(versions):
        bin_dir = version / "bin"
        control = PG_SHARE / version.name / "extension" / "postgis.control"
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists() and control.exists():
            return bin_dir
    return None


def missing() -> str | None:
    """Why a private server cannot be started here, or None when it can."""
    if find_bin_dir() is None:
        return (
            f"no PostgreSQL server binaries with PostGIS ({PG_ROOT}/N/bin, postgis.control);"
            " .ci/postgis installs them"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to own the cluster (initdb)"
    return None


def _free_port() -> int:
    """A free port below the usual ephemeral range (32768-60999), so that while the server
    is stopped no client socket the OS hands out elsewhere can take it."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the private PostgreSQL server")


class PrivatePostgres:
    """One throwaway cluster: `start`, `stop`, `restart`, `url(database)`, `remove`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Not under pytest's tmp_path: its root is mode 0700, so the postgres user could
        # not reach a data folder inside it.
        self.base = Path(tempfile.mkdtemp(prefix="gunmane-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        # pg_ctl: wait for the start or stop to finish, at most a minute.
        self._ctl = ["-w", "-t", "60", "-D", str(self.data)]
        # initdb refuses to run as root: the cluster belongs to the postgres user then.
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.base, "postgres", "postgres")
        init = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]
        try:
            self._run("initdb", *init, "-D", str(self.data))
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    def _run(self, tool: str, *args: str) -> str:
        done = subprocess.run(
            [*self._as, str(self.bin_dir / tool), *args],
            check=False,
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{self.log_tail()}"
            )
        return done.stdout

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log (for failure messages)."""
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            # No flushing to disk: a fast stop is still clean, and only the OS crashing would
            # lose data, which these tests do not try.
            f" -c unix_socket_directories={self.base} -c fsync=off"
        )
        self._run("pg_ctl", "start", *self._ctl, "-l", str(self.log), "-o", options)

    def stop(self) -> None:
        """Stop the server, disconnecting every client (fast shutdown)."""
        self._run("pg_ctl", "stop", *self._ctl, "-m", "fast")

    def restart(self) -> None:
        """Stop (fast: open sessions are terminated) and start again."""
        # Not `pg_ctl restart`: it drops -l, and a server writing to our pipes never lets
        # the call return.
        self.stop()
        self.start()

    def running(self) -> bool:
        """True while the server's postmaster is alive."""
        done = subprocess.run(
            [*self._as, str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data)],
            check=False,
            cwd=self.base,
            capture_output=True,
            timeout=30,
        )
        return done.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser (stops at the first error)."""
        connect = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        return self._run("psql", *connect, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        if self.running():
            self._run("pg_ctl", "stop", *self._ctl, "-m", "immediate")
        shutil.rmtree(self.base, ignore_errors=True)
