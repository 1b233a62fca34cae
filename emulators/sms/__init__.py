"""Fake SMS gateways (SMS.ru, SMSC.ru, a generic JSON webhook) served over real HTTP on loopback.

    gateways = serve(port=0, rate_per_s=0)
    gateways.url + "/smsru", gateways.url + "/smsc", gateways.url + "/webhook"
    gateways.stop()

Answer bodies follow each provider's public documentation (cited in app.py beside each body);
the package imports nothing from the product.
"""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

from .app import GatewayApp
from .state import GatewayState

__all__ = ["GatewayState", "RunningGateways", "serve"]


class RunningGateways:
    def __init__(self, state: GatewayState, host: str, port: int) -> None:
        self.state = state
        self._server = make_server(host, port, GatewayApp(state), threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="sms-emulator")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(port: int = 0, host: str = "127.0.0.1", rate_per_s: float = 0.0) -> RunningGateways:
    return RunningGateways(GatewayState(rate_per_s=rate_per_s), host, port)
