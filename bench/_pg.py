"""Shared by the benchmarks: create their scratch PostgreSQL database with psql."""

from __future__ import annotations

import os
import subprocess
from urllib.parse import unquote, urlsplit


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` with psql if it does not exist."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    base = ["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    base += ["-U", unquote(parts.username or "postgres"), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc"]
    exists = subprocess.run(
        [*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if exists != "1":
        print(f"creating database {name}")
        subprocess.run([*base, f'CREATE DATABASE "{name}"'], check=True, env=env)
