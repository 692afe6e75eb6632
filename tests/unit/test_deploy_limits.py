"""nginx lets through every body the app accepts (deploy/nginx.conf.template): an upload path
the template forgets would be capped at 64 KiB in production while it works in development."""

from __future__ import annotations

import re
from pathlib import Path

from litestar.routes import HTTPRoute

from app.main import create_app
from core.config import Config

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy/nginx.conf.template"
UNITS = {"k": 1024, "m": 1024**2, "": 1}


def nginx_limits() -> tuple[int, list[tuple[re.Pattern[str], int]]]:
    """The server's default body limit and each regex location's own."""
    text = TEMPLATE.read_text()
    default = re.search(r"server \{.*?client_max_body_size (\d+)([km]?);", text, re.S)
    assert default
    locations = [
        (re.compile(pattern), int(size) * UNITS[unit])
        for pattern, size, unit in re.findall(
            r"location ~ (\S+) \{\s*client_max_body_size (\d+)([km]?);", text
        )
    ]
    return int(default.group(1)) * UNITS[default.group(2)], locations


def test_every_upload_route_has_room_in_nginx(tmp_path: Path) -> None:
    app = create_app(
        Config(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", data_dir=str(tmp_path)),
        run_scheduler=False,
    )
    default, locations = nginx_limits()
    short = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            wanted = handler.request_max_body_size
            if not isinstance(wanted, int) or wanted <= default:
                continue
            example = re.sub(r"\{\w+:int\}", "7", route.path)
            allowed = max(
                (size for pattern, size in locations if pattern.fullmatch(example)), default=default
            )
            if allowed < wanted:
                short.append(f"{route.path}: app {wanted} bytes, nginx {allowed}")
    assert short == []
