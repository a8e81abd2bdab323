"""Start, stop and inspect the local services, each on loopback and tracked by PID.

    python -m local.services up|down|status|env|topology|topology-down|emulators

`up` is idempotent: a service already answering on its port is left alone. `down`
stops only what `up` started, by the PID it recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from local import config as cfg
from local import topology

PG_DIR = cfg.STATE_DIR / "pg"
PG_DATA = PG_DIR / "data"
PG_SOCK = PG_DIR / "run"


def _port_open(port: int, host: str = cfg.HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _log_tail(name: str) -> str:
    log = cfg.LOG_DIR / f"{name}.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    return f"Log ({log}) tail:\n{tail}"


def _wait_port(
    port: int, name: str, timeout: float = 30.0, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{name} exited at start (code {proc.returncode}). {_log_tail(name)}")
        time.sleep(0.1)
    raise SystemExit(f"{name} did not open port {port} within {timeout:.0f}s. {_log_tail(name)}")


def _pid_file(name: str) -> Path:
    return cfg.RUN_DIR / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether any process of the session/process group `pgid` is still running."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _running(name: str) -> int | None:
    """The PID `up` recorded for `name`, if that process is alive."""
    pid_file = _pid_file(name)
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    return pid if _alive(pid) else None


def _spawn(
    name: str,
    argv: list[str] | tuple[str, ...],
    port: int | None,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> subprocess.Popen | None:
    """Start a long-running process in its own session, recording its PID. Ready when
    `port` answers (or, with no port, when it is still alive after a few seconds).
    With wait=False, returns the process for `_await` (None if it was already up)."""
    if port is not None and _port_open(port):
        print(f"  {name:<16} already listening on {cfg.HOST}:{port}")
        return None
    if port is None and _running(name):
        print(f"  {name:<16} already running (pid {_running(name)})")
        return None
    cfg.RUN_DIR.mkdir(parents=True, exist_ok=True)
    cfg.LOG_DIR.mkdir(parents=True, exist_ok=True)
    # Popen dups the handle into the child; the parent's copy is closed once it returns.
    log = open(cfg.LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=cfg.PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(cfg.PROJECT_ROOT), **(env or {})},
    )
    log.close()
    _pid_file(name).write_text(str(proc.pid))
    if not wait:
        return proc
    _await(name, port, proc, timeout)
    return None


def _await(name: str, port: int | None, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    if port is not None:
        _wait_port(port, name, timeout, proc)
        print(f"  {name:<16} started on {cfg.HOST}:{port} (pid {proc.pid})")
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is not None:
        raise SystemExit(f"{name} exited at start (code {proc.returncode}). {_log_tail(name)}")
    print(f"  {name:<16} started (pid {proc.pid})")


def _stop(name: str, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
    """Stop `name`'s whole session (a Celery worker's pool, a task's supervisor and its
    task process are in it): `sig`, then SIGKILL for what is left after `grace` s."""
    pid_file = _pid_file(name)
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    # The session it was started in, and the process itself: a leader that moved to a
    # group of its own (setsid) is no longer reached through the first.
    groups = {pid}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        groups.add(os.getpgid(pid))

    def alive() -> bool:
        return _alive(pid) or any(_group_alive(g) for g in groups)

    def signal_all(s: int) -> None:
        for g in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(g, s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, s)

    if alive():
        signal_all(sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and alive():
            time.sleep(0.1)
        if alive():
            signal_all(signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and alive():
                time.sleep(0.05)
        print(f"  {name:<16} stopped (pid {pid})")
    pid_file.unlink(missing_ok=True)


# --- PostgreSQL -------------------------------------------------------------------


def _pg_bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not versions:
        raise SystemExit(
            "PostgreSQL server binaries not found: run `make deps` "
            "(apt-get install postgresql) first."
        )
    return versions[-1].parent


def _as_pg_owner(argv: list[str]) -> list[str]:
    """initdb/postgres refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def _pg_up() -> None:
    if _port_open(cfg.PG_PORT):
        print(f"  {'postgresql':<14} already listening on {cfg.HOST}:{cfg.PG_PORT}")
    else:
        bindir = _pg_bindir()
        PG_SOCK.mkdir(parents=True, exist_ok=True)
        cfg.LOG_DIR.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The postgres user must reach the data directory through the tree.
            subprocess.run(["chown", "-R", "postgres:postgres", str(PG_DIR)], check=True)
            for parent in [PG_DIR, *PG_DIR.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o001)
        if not (PG_DATA / "PG_VERSION").exists():
            pwfile = PG_DIR / "pwfile"
            pwfile.write_text(cfg.PG_PASSWORD + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            subprocess.run(
                _as_pg_owner(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(PG_DATA),
                        "-U",
                        cfg.PG_USER,
                        "--auth=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            pwfile.unlink()
        pg_log = PG_DIR / "postgres.log"
        opts = (
            f"-p {cfg.PG_PORT} -c listen_addresses={cfg.HOST} -k {PG_SOCK} "
            "-c fsync=on -c max_connections=200 -c shared_buffers=256MB"
        )
        subprocess.run(
            _as_pg_owner(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(PG_DATA),
                    "-l",
                    str(pg_log),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        pid = (PG_DATA / "postmaster.pid").read_text().split()[0]
        print(f"  {'postgresql':<14} started on {cfg.HOST}:{cfg.PG_PORT} (pid {pid})")
    _pg_create_databases()


def _pg_create_databases() -> None:
    import psycopg

    conninfo = dict(
        host=cfg.HOST,
        port=cfg.PG_PORT,
        user=cfg.PG_USER,
        password=cfg.PG_PASSWORD,
        dbname="postgres",
    )
    for _ in range(50):
        try:
            conn = psycopg.connect(**conninfo, autocommit=True, connect_timeout=3)
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    else:
        raise SystemExit("PostgreSQL is listening but refuses connections as the local user")
    with conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        for name in cfg.PG_DATABASES:
            if name not in existing:
                conn.execute(f'create database "{name}"')


def _pg_down() -> None:
    if not (PG_DATA / "postmaster.pid").exists():
        return
    subprocess.run(
        _as_pg_owner(
            [str(_pg_bindir() / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"]
        ),
        check=False,
        stdout=subprocess.DEVNULL,
    )
    print(f"  {'postgresql':<14} stopped")


# --- S3 lake, source servers, Slack sink ---------------------------------------------


def _s3_up() -> None:
    moto = Path(sys.executable).parent / "moto_server"
    _spawn("s3", [str(moto), "-H", cfg.HOST, "-p", str(cfg.S3_PORT)], cfg.S3_PORT)
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{cfg.HOST}:{cfg.S3_PORT}",
        aws_access_key_id=cfg.S3_ACCESS_KEY,
        aws_secret_access_key=cfg.S3_SECRET_KEY,
        region_name="us-east-1",
    )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if cfg.LAKE_BUCKET not in existing:
        s3.create_bucket(Bucket=cfg.LAKE_BUCKET)


def up() -> None:
    print("local services:")
    _pg_up()
    redis = topology.redis_component()
    _spawn(redis.name, redis.argv, redis.port)
    _s3_up()
    _spawn(
        "sources",
        [
            sys.executable,
            "-m",
            "local.sources.server",
            "--port",
            str(cfg.SOURCES_PORT),
            "--census-key",
            cfg.CENSUS_LOCAL_KEY,
            "--yelp-key",
            cfg.YELP_LOCAL_KEY,
            "--amplitude-key",
            cfg.AMPLITUDE_LOCAL_KEY,
            "--amplitude-secret",
            cfg.AMPLITUDE_LOCAL_SECRET,
        ],
        cfg.SOURCES_PORT,
    )
    _spawn(
        "slack-sink",
        [
            sys.executable,
            "-m",
            "local.slack_sink",
            "--port",
            str(cfg.SLACK_PORT),
            "--record",
            str(cfg.STATE_DIR / "slack_messages.jsonl"),
        ],
        cfg.SLACK_PORT,
    )


def emulators_up() -> None:
    """bqemulator (REST + gRPC) and gcp-storage-emulator, from their own venv
    (`make emulators` installs it). GCS objects live on disk under .local/gcs, and
    bqemulator resolves gs:// URIs in load jobs from that same directory."""
    venv_bin = cfg.EMU_VENV / "bin"
    if not (venv_bin / "bqemulator").exists():
        raise SystemExit(f"{venv_bin}/bqemulator missing: run `make emulators`")
    gcs_dir = cfg.STATE_DIR / "gcs"
    gcs_dir.mkdir(parents=True, exist_ok=True)
    (cfg.STATE_DIR / "bigquery").mkdir(parents=True, exist_ok=True)
    emu_home = _emu_home()
    print("emulators:")
    os.environ["STORAGE_BASE"] = str(gcs_dir)
    _spawn(
        "gcs",
        [
            str(venv_bin / "gcp-storage-emulator"),
            "start",
            "--host",
            cfg.HOST,
            "--port",
            str(cfg.GCS_PORT),
            "--default-bucket",
            cfg.GCS_STAGING_BUCKET,
            "--quiet",
        ],
        cfg.GCS_PORT,
    )
    os.environ["BQEMU_GCS_LOCAL_ROOT"] = str(gcs_dir / ".cloudstorage")
    os.environ["HOME"] = str(emu_home)  # where DuckDB looks for the spatial extension
    _spawn(
        "bigquery",
        [
            str(venv_bin / "bqemulator"),
            "start",
            "--rest-host",
            cfg.HOST,
            "--rest-port",
            str(cfg.BQ_REST_PORT),
            "--grpc-host",
            cfg.HOST,
            "--grpc-port",
            str(cfg.BQ_GRPC_PORT),
            "--project",
            cfg.GCP_PROJECT,
            # On disk like PostgreSQL: a restart must not lose the warehouse
            # (reconciliation would rightly fail against an empty one).
            "--persistent",
            "--data-dir",
            str(cfg.STATE_DIR / "bigquery"),
            "--log-level",
            "warning",
        ],
        cfg.BQ_REST_PORT,
        timeout=60,
    )


def _emu_home() -> Path:
    """A HOME for bqemulator holding the DuckDB spatial extension, copied from the
    duckdb-extension-spatial wheel (DuckDB cannot download it offline)."""
    import glob

    home = cfg.STATE_DIR / "emu-home"
    found = glob.glob(
        str(
            cfg.EMU_VENV
            / "lib"
            / "python*"
            / "site-packages"
            / "duckdb_extension_spatial"
            / "extensions"
            / "v*"
            / "spatial.duckdb_extension"
        )
    )
    if not found:
        raise SystemExit(
            "duckdb-extension-spatial missing from the emulator venv: run `make emulators`"
        )
    src = Path(found[0])
    version = src.parent.name
    dest = home / ".duckdb" / "extensions" / version / "linux_amd64"
    dest.mkdir(parents=True, exist_ok=True)
    if not (dest / src.name).exists():
        shutil.copy2(src, dest / src.name)
    return home


def _airflow_login() -> dict[str, str]:
    home = Path(os.environ.get("AIRFLOW_HOME", cfg.STATE_DIR / "airflow"))
    passwords = home / "simple_auth_manager_passwords.json.generated"
    return json.loads(passwords.read_text()) if passwords.exists() else {}


def _create_pools() -> None:
    """The pools the DAGs' API tasks run in (include/runs/pools.py), if it exists."""
    if (cfg.PROJECT_ROOT / "include" / "runs" / "pools.py").exists():
        subprocess.run([sys.executable, "-m", "include.runs.pools"], check=True, timeout=300)


def topology_up() -> None:
    """`make up`: the Airflow components of docker-compose.yaml as local processes, on
    the services `up` started (PostgreSQL, Redis, S3, sources, Slack sink). The Makefile
    has run the migrations and `airflow db migrate` first."""
    import urllib.request

    venv_bin = str(Path(sys.executable).parent)
    os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    print(f"Airflow (CeleryExecutor, broker redis://{cfg.HOST}:{cfg.REDIS_PORT}):")
    _create_pools()
    components = topology.airflow_components()
    waits = []
    for component in components:
        proc = _spawn(component.name, component.argv, component.port, env=component.env, wait=False)
        if proc is not None:
            waits.append((component, proc))
    for component, proc in waits:
        _await(component.name, component.port, proc, timeout=240)
    url = f"http://{cfg.HOST}:{cfg.AIRFLOW_PORT}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5):
                break
        except OSError as exc:
            if time.monotonic() > deadline:
                tail = _log_tail("api-server")
                raise SystemExit(f"api-server not healthy at {url} in 120 s. {tail}") from exc
            time.sleep(1)
    print(f"Airflow UI: {url}")
    for user, password in _airflow_login().items():
        print(f"  login: {user} / {password}")
    print("  DAGs start paused: unpause or trigger them in the UI. `make status`, `make down`.")


def topology_down() -> None:
    """Stop the Airflow components: the scheduler first (it queues no new task), then the
    workers (SIGTERM: a warm shutdown finishes running tasks within the grace period)."""
    order = ["scheduler", "triggerer", "dag-processor", *topology.WORKERS, "api-server"]
    for name in order:
        _stop(name, grace=30.0 if name in topology.WORKERS else 15.0)
    # `airflow standalone`, which earlier versions of `make up` ran.
    _stop("airflow", signal.SIGINT)


def _ports() -> dict[str, int]:
    ports = {
        "postgresql": cfg.PG_PORT,
        "redis": cfg.REDIS_PORT,
        "s3": cfg.S3_PORT,
        "sources": cfg.SOURCES_PORT,
        "slack-sink": cfg.SLACK_PORT,
        "api-server": cfg.AIRFLOW_PORT,
        "scheduler": topology.SCHEDULER_HEALTH_PORT,
        "triggerer": topology.TRIGGERER_LOG_PORT,
        "bigquery": cfg.BQ_REST_PORT,
        "gcs": cfg.GCS_PORT,
    }
    ports.update(topology.WORKER_LOG_PORTS)
    return ports


def down() -> None:
    topology_down()
    for name in ("bigquery", "gcs", "slack-sink", "sources", "s3", "redis"):
        _stop(name)
    _pg_down()
    still = [f"{n} ({cfg.HOST}:{p})" for n, p in _ports().items() if _port_open(p)]
    if still:
        print("  still listening, not started by `make up` (left alone): " + ", ".join(still))


def _pid(name: str) -> int | None:
    if name == "postgresql":
        pid_file = PG_DATA / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            return pid if _alive(pid) else None
        return None
    return _running(name)


def status() -> int:
    """One line per component: `<name> running <pid>` or `<name> stopped`."""
    stopped = 0
    ports = _ports()
    for name in topology.process_names():
        pid = _pid(name)
        if pid:
            print(f"{name} running {pid}")
        elif name in ports and _port_open(ports[name]):
            print(f"{name} running ? (port {ports[name]} answers; not started by make)")
        else:
            print(f"{name} stopped")
            stopped += 1
    return stopped


def print_env() -> None:
    for key, value in cfg.local_env().items():
        print(f"export {key}={shlex.quote(value)}")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command in ("ui", "topology"):
        topology_up()
    elif command == "emulators":
        emulators_up()
    elif command in ("ui-down", "topology-down"):
        topology_down()
    elif command == "env":
        print_env()
    elif command == "status":
        status()
        return 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
