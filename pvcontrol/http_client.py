"""JSON over HTTP for device adapters: blocking `requests` in a worker thread, failures as DeviceError."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import requests

from pvcontrol.device import DeviceError


class HttpStatusError(DeviceError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotJsonError(DeviceError):
    pass


class JsonHttpClient:
    """One keep-alive session to one device. Calls must not overlap (adapters poll one request at a time)."""

    def __init__(
        self, base_url: str, timeout: float, verify: bool | str = True, headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._verify = verify
        self._session = requests.Session()
        self._session.headers.update(headers or {})

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await asyncio.to_thread(self._request, "GET", path, params, None)

    async def post(self, path: str, body: Any, params: dict[str, str] | None = None) -> Any:
        return await asyncio.to_thread(self._request, "POST", path, params, body)

    def _request(self, method: str, path: str, params: dict[str, str] | None, body: Any) -> Any:
        # Error messages name the path only: query strings may carry session ids.
        where = f"{method} {urlsplit(self.base_url).netloc}{path}"
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                timeout=self._timeout,
                # per request: a session's verify=False loses against REQUESTS_CA_BUNDLE
                verify=self._verify,
            )
            response.raise_for_status()
            return response.json()
        except requests.Timeout as e:
            raise DeviceError(f"{where}: timeout after {self._timeout} s") from e
        except requests.HTTPError as e:
            status = e.response.status_code if e.response is not None else 0
            raise HttpStatusError(f"{where}: HTTP {status}", status) from e
        except requests.JSONDecodeError as e:
            raise NotJsonError(f"{where}: reply is not JSON ({e.msg})") from e
        except requests.RequestException as e:
            raise DeviceError(f"{where}: {type(e).__name__}") from e

    def close(self) -> None:
        self._session.close()
