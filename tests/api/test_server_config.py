"""``stance serve`` runs uvicorn on uvloop with the httptools parser, access log off by default."""

from fastapi import FastAPI
from typer.testing import CliRunner
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api import server
from service.config import Settings


def test_the_server_uses_uvloop_and_httptools_without_access_logs():
    config = server.server_config(FastAPI(), host="127.0.0.1", port=0, log_level="warning")
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    loop = config.get_loop_factory()()  # type: ignore[misc]
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()
    assert config.access_log is False
    assert Settings().access_log is False


def test_stance_serve_passes_the_access_log_setting(monkeypatch, tmp_path):
    seen: dict[str, object] = {}

    def fake_run(app: FastAPI, **options: object) -> None:
        seen.update(options)

    monkeypatch.setattr(server, "run_server", fake_run)
    monkeypatch.setenv("STANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("STANCE_ACCESS_LOG", "true")
    from service import cli, config

    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--no-worker"])
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["access_log"] is True
