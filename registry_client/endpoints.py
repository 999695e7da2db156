"""Where a DCI path goes: straight to `REGISTRY_URL`, or through a CamDX (X-Road) security server.

In X-Road mode (`XROAD_CLIENT` set) every call, token and JWKS included, goes to
`{REGISTRY_URL}/r1/{CHUMNUOY_XROAD_SERVICE}/{DCI path}` with the header `X-Road-Client`. Each part
of the service id and of the path is percent-encoded, the `/` separators are not (X-Road REST r1).
X-Road is synchronous only, so async DCI calls are refused in that mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

XROAD_SERVICE_ENV = "CHUMNUOY_XROAD_SERVICE"
"""The SPR's X-Road service id, e.g. `CAMBODIA/GOV/NSPC/SPR/dci` (instance/class/member/subsystem/
service code). Read here, not in chumnuoy.settings, so that module keeps its fixed field list."""


class XRoadConfigError(ValueError):
    pass


def _encode_parts(path: str) -> str:
    return "/".join(quote(part, safe="") for part in path.strip("/").split("/"))


@dataclass(frozen=True)
class Endpoints:
    base_url: str
    xroad_client: str = ""
    xroad_service: str = ""

    @classmethod
    def from_settings(cls, registry_url: str, xroad_client: str, xroad_service: str | None = None
                      ) -> Endpoints:
        service = xroad_service if xroad_service is not None else os.environ.get(XROAD_SERVICE_ENV, "")
        if xroad_client and not service.strip("/"):
            raise XRoadConfigError(
                f"XROAD_CLIENT is set: {XROAD_SERVICE_ENV} must name the registry's service")
        if xroad_client and len(xroad_client.split("/")) != 4:
            raise XRoadConfigError("XROAD_CLIENT must be INSTANCE/CLASS/MEMBER/SUBSYSTEM")
        return cls(base_url=registry_url.rstrip("/"), xroad_client=xroad_client,
                   xroad_service=service if xroad_client else "")

    @property
    def via_xroad(self) -> bool:
        return bool(self.xroad_client)

    def url(self, path: str) -> str:
        """The URL of a DCI path such as `/registry/sync/search`."""
        if not self.via_xroad:
            return f"{self.base_url}/{path.lstrip('/')}"
        return f"{self.base_url}/r1/{_encode_parts(self.xroad_service)}/{_encode_parts(path)}"

    def headers(self) -> dict[str, str]:
        return {"X-Road-Client": self.xroad_client} if self.via_xroad else {}
