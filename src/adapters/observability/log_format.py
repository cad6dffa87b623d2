"""Log lines on stderr: plain by default, one JSON object per line with `IDEAFORGE_LOG_FORMAT=json`.

A JSON line holds `time` (UTC, ISO 8601), `level`, `logger`, `message`, any fields the call
passed in `extra` (`request_id`, `provider`, `reason`, `status`, `latency_ms`, ...) and `exc_info`
when there is one. The formatter is the standard library's with a `format` of its own (about 20
lines) rather than a dependency: the fields are few and fixed.

`configure_logging` sets up the CLI's own process; `logging_config` is the same as a
`logging.config.dictConfig` document, which `serve` hands to uvicorn to apply in every worker.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
PLAIN = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                document[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def logging_config(level: str, log_format: str) -> dict[str, Any]:
    """Root logging on stderr at `level` (`debug`, `info`, `warning`, `error`), `plain` or `json`;
    uvicorn's own loggers go through the same handler, its access log stays off (the gateway's
    `ideaforge.access` replaces it)."""
    formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": PLAIN}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ideaforge": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "ideaforge", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure_logging(level: str, log_format: str) -> None:
    """Root logging on stderr, for the CLI's own process (`serve` hands `logging_config` to uvicorn)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))
    logging.basicConfig(level=level.upper(), handlers=[handler])
